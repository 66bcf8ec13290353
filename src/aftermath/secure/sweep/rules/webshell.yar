// Aftermath's default web-shell and backdoor rules: small, readable, aimed at the common cases.
// More rules: --rules FILE_OR_DIR, and src/aftermath/review/rules/ when that folder exists.

rule php_eval_request
{
    meta:
        description = "PHP code that evaluates text sent by the visitor (the classic one-line web shell)"
    strings:
        $eval = /(eval|assert|create_function)\s*\(\s*(\$_(GET|POST|REQUEST|COOKIE|SERVER)|base64_decode|gzinflate|str_rot13)/ nocase
    condition:
        $eval
}

rule php_exec_request
{
    meta:
        description = "PHP code that runs shell commands taken from the request"
    strings:
        $exec = /(system|shell_exec|passthru|exec|popen|proc_open)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $tick = /`\s*\$_(GET|POST|REQUEST)/
    condition:
        any of them
}

rule php_obfuscated_payload
{
    meta:
        description = "PHP that decodes and runs a hidden payload"
    strings:
        $a = /eval\s*\(\s*(gzinflate|gzuncompress|str_rot13|base64_decode)\s*\(/ nocase
        $b = /preg_replace\s*\(\s*['"].{1,40}\/e['"]/ nocase
    condition:
        any of them
}

rule jsp_runtime_exec
{
    meta:
        description = "JSP page that runs commands from a request parameter"
    strings:
        $a = "Runtime.getRuntime().exec(request.getParameter" nocase
    condition:
        $a
}

rule reverse_shell_one_liner
{
    meta:
        description = "A reverse shell: a shell whose input and output go to a remote machine"
    strings:
        $bash = /(bash|sh)\s+-i\s*>&\s*\/dev\/tcp\// nocase
        $nc = /\bnc(at)?\s+(-e|-c)\s+\/bin\/(ba)?sh/ nocase
        $py = "pty.spawn(\"/bin/" nocase
    condition:
        any of them
}
