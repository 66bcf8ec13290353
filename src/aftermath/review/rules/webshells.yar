// Web shells: server-side code that runs what a request tells it to.
// Written for Aftermath; aimed at the shapes seen in small-business incidents, kept cheap to scan.

rule php_exec_on_request_input
{
    meta:
        description = "PHP code passes request input (GET/POST/REQUEST/COOKIE) to eval, system or a shell: a web shell"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $exec = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(@\s*)?(base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*|stripslashes\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\s*\[/ nocase
        $call_user = /call_user_func(_array)?\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $backtick = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*`/
        $create_fn = /create_function\s*\([^;]{0,100}\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        $php and any of ($exec, $call_user, $backtick, $create_fn)
}

rule php_eval_encoded_payload
{
    meta:
        description = "PHP code evaluates an encoded payload (eval of base64/gzinflate/str_rot13): an obfuscated backdoor"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $a = /\b(eval|assert)\s*\(\s*(@\s*)?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)\s*\(\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)?\s*\(?\s*['"$]/ nocase
        $b = /preg_replace\s*\(\s*['"][^'"]{0,40}\/e[a-z]*['"]\s*,/ nocase
    condition:
        $php and any of ($a, $b)
}

rule jsp_exec_on_request_input
{
    meta:
        description = "JSP page runs a command taken from the request (Runtime.exec / ProcessBuilder with request.getParameter): a web shell"
        severity = "infected"
    strings:
        $rt = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/
        $pb = /new\s+ProcessBuilder\s*\(/
        $req = /request\s*\.\s*getParameter\s*\(/
        $jsp = /<%[@!=]?/
    condition:
        $jsp and $req and ($rt or $pb)
}

rule aspx_exec_on_request_input
{
    meta:
        description = "ASP.NET page starts a process with input from the request (Process.Start / cmd.exe with Request[...]): a web shell"
        severity = "infected"
    strings:
        $page = /<%@\s*Page/ nocase
        $script = /<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $start = /Process(StartInfo)?\s*\.\s*Start\s*\(|new\s+ProcessStartInfo\s*\(/ nocase
        $cmd = "cmd.exe" nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Params|Item))?\s*\[/ nocase
    condition:
        ($page or $script) and $req and ($start or $cmd)
}
