// Perl CGI, Python, ColdFusion and Node.js web shells and the backdoors dropped with them.
// Written for Aftermath from how the techniques work; see tests/review/test_rules.py.

rule perl_cgi_exec
{
    meta:
        description = "Perl CGI script runs a command taken from the request (param/QUERY_STRING into system, exec, backticks or a pipe): a web shell"
        reference = "https://perldoc.perl.org/perlsec ; https://metacpan.org/pod/CGI"
        severity = "infected"
    strings:
        $perl = /#!\s*\S{0,30}perl|\buse\s+(strict|CGI|Socket)\b|\$ENV\s*\{/
        $in1 = /\$ENV\s*\{\s*['"]?(QUERY_STRING|CONTENT_LENGTH|REQUEST_METHOD)['"]?\s*\}/
        $in2 = /\b(param|ReadParse)\s*\(/
        $in3 = /\$(in|FORM)\s*\{/
        $in4 = /&read_param\s*\(|\$param\s*\{\s*['"]?cmd/
        $x1 = /\b(system|exec)\s*\(?\s*\$/
        $x2 = /`\$[a-zA-Z_{]/
        $x3 = /\bqx\s*[\(\{\/\[]/
        $x4 = /open\s*\(\s*[A-Z_]{1,20}\s*,\s*["']?\s*\$[a-zA-Z_]{1,20}[^;\n]{0,30}\|/
        $x5 = /open\s*\([^;\n]{0,60}2>&1\s*\|/
        $x6 = /open\s*\(\s*[A-Z_]{1,20}\s*,\s*"[^"\n]{0,80}\$[a-zA-Z_{][^"\n]{0,80}\|"\s*\)/
    condition:
        $perl and any of ($in*) and any of ($x*) and filesize < 200KB
}

rule perl_socket_shell
{
    meta:
        description = "Perl script that connects a shell to a network socket (reverse or bind shell): a backdoor"
        reference = "https://perldoc.perl.org/perlipc#Sockets:-Client/Server-Communication"
        severity = "infected"
    strings:
        $sock = /\bsocket\s*\(|IO::Socket/
        $conn = /\b(connect|bind|listen|accept)\s*\(/
        $dup = /open\s*\(\s*(STDIN|STDOUT|STDERR)\s*,\s*["']\s*[<>+]*&/
        $sh = /["']\/bin\/(ba)?sh|["']cmd(\.exe)?["']/
        $x = /\bexec\s*[\(\{]|\bsystem\s*\(/
    condition:
        $sock and $conn and (($dup and ($sh or $x)) or ($sh and $x and filesize < 50KB))
}

rule python_cgi_exec
{
    meta:
        description = "Python CGI or web handler runs a command taken from the request (FieldStorage/QUERY_STRING/request.args into os.popen, subprocess or exec)"
        reference = "https://docs.python.org/3/library/subprocess.html ; https://docs.python.org/3.12/library/cgi.html"
        severity = "infected"
    strings:
        $in1 = /cgi\s*\.\s*FieldStorage\s*\(/
        $in2 = /os\s*\.\s*environ\s*(\[|\.get\s*\()\s*['"]QUERY_STRING/
        $in3 = /request\s*\.\s*(args|form|values|GET|POST)\s*(\[|\.get\s*\()/
        $x = /(os\s*\.\s*(popen|system)|subprocess\s*\.\s*(Popen|call|check_output|run|getoutput)|commands\s*\.\s*getoutput)\s*\([^)\n]{0,60}(form|args|values|GET|POST|getvalue|getfirst|cmd|command)/
        $ev = /\b(exec|eval)\s*\([^)\n]{0,40}(form|args|values|GET|POST|getvalue|getfirst)/
    condition:
        any of ($in*) and ($x or $ev) and filesize < 200KB
}

rule python_socket_shell
{
    meta:
        description = "Python program that wires a shell to a network socket (reverse or bind shell: dup2 of the socket, pty.spawn, or a command loop over recv)"
        reference = "https://docs.python.org/3/library/pty.html#pty.spawn ; https://docs.python.org/3/library/os.html#os.dup2"
        severity = "infected"
    strings:
        $sock = /socket\s*\.\s*socket\s*\(|\bsocket\s*\(\s*(socket\.)?AF_INET/
        $dup = /os\s*\.\s*dup2\s*\(\s*[a-z_.]{1,30}\.fileno\s*\(\s*\)\s*,\s*[012]\s*\)/
        $pty = /pty\s*\.\s*spawn\s*\(\s*["']\/bin\/(ba)?sh/
        $recv = /\.recv(from)?\s*\(\s*\d+\s*\)/
        $run = /(subprocess\s*\.\s*(Popen|check_output|getoutput|call)|os\s*\.\s*popen|commands\s*\.\s*getoutput)\s*\(/
        $send = /\.send(all|to)?\s*\(/
        $shell = /shell\s*=\s*True|["']\/bin\/(ba)?sh["']|["']cmd(\.exe)?["']/
    condition:
        $sock and ($dup or $pty or ($recv and $run and $send and $shell)) and filesize < 200KB
}

rule coldfusion_exec
{
    meta:
        description = "ColdFusion page runs operating-system commands (cfexecute, java.lang.Runtime) or evaluates request input: a web shell"
        reference = "https://helpx.adobe.com/coldfusion/cfml-reference/coldfusion-tags/tags-c/cfexecute.html"
        severity = "infected"
    strings:
        $exec = /<cfexecute\b/ nocase
        $rt = /createObject\s*\(\s*["']java["']\s*,\s*["']java\.lang\.(Runtime|ProcessBuilder)["']/ nocase
        $eval = /evaluate\s*\(\s*(form|url|cgi)\s*\./ nocase
    condition:
        $exec or $rt or $eval
}

rule coldfusion_file_manager
{
    meta:
        description = "ColdFusion page that uploads, writes or deletes files or runs SQL named by the request: an intruder's file manager or database console"
        reference = "https://helpx.adobe.com/coldfusion/cfml-reference/coldfusion-tags/tags-f/cffile.html"
        severity = "infected"
    strings:
        $file_req = /<cf(file|directory)\s[^>]{0,80}(file|source|destination|directory)\s*=\s*["']#(form|url)\./ nocase
        $query_req = /<cfquery\s[^>]{0,200}datasource\s*=\s*["']?#\s*(form|url)\./ nocase
        $sql_req = /<cfquery[^>]{0,200}>\s*#\s*(PreserveSingleQuotes\s*\(\s*)?(form|url)\./ nocase
    condition:
        $file_req or $query_req or $sql_req
}

rule node_exec_on_request_input
{
    meta:
        description = "Node.js handler passes request input to child_process or eval: a web shell"
        reference = "https://nodejs.org/api/child_process.html"
        severity = "infected"
    strings:
        $cp = /require\s*\(\s*["'](node:)?child_process["']\s*\)/
        $x = /\b(exec|execSync|spawn|spawnSync|execFile)\s*\(\s*req\s*\.\s*(query|body|params|headers)/
        $ev = /\b(eval|Function)\s*\(\s*req\s*\.\s*(query|body|params|headers)/
    condition:
        ($cp and $x) or $ev
}

rule python_remote_command
{
    meta:
        description = "Python program that runs, in a shell, commands it receives over a network channel (SSH/socket back-channel backdoor), or loads shellcode into memory"
        reference = "https://docs.python.org/3/library/subprocess.html#security-considerations ; https://docs.python.org/3/library/ctypes.html"
        severity = "infected"
    strings:
        $recv = /=\s*[a-zA-Z_.]{1,30}\.recv\(\s*\d+\s*\)/
        $run = /(subprocess\s*\.\s*(check_output|Popen|call|run|getoutput)|os\s*\.\s*popen)\s*\(\s*[a-zA-Z_]{1,30}\s*[,)]/
        $shell = /shell\s*=\s*True/
        $alloc = /windll\s*\.\s*kernel32\s*\.\s*VirtualAlloc/
        $thread = /kernel32\s*\.\s*(CreateThread|RtlMoveMemory)/
    condition:
        (($recv and $run and $shell) or ($alloc and $thread)) and filesize < 200KB
}

rule perl_eval_encoded
{
    meta:
        description = "Perl script that evaluates a payload it decodes from base64 or uuencoding: a packed backdoor"
        reference = "https://perldoc.perl.org/functions/eval ; https://metacpan.org/pod/MIME::Base64"
        severity = "infected"
    strings:
        $eval = /\beval\s*\(?\s*(decode_base64|unpack\s*\(\s*["']u|MIME::Base64::decode)/
        $eval_var = /\beval\s*\(?\s*\$[a-zA-Z_]{1,30}\s*\)?\s*;/
        $decode = /=\s*(decode_base64|MIME::Base64::decode)\s*\(\s*\$/
    condition:
        $eval or ($eval_var and $decode and filesize < 200KB)
}

rule perl_cgi_file_browser
{
    meta:
        description = "Small Perl CGI script that lists folders and opens files named in the query string: an intruder's file browser"
        reference = "https://perldoc.perl.org/functions/opendir"
        severity = "infected"
    strings:
        $in = /\$ENV\s*\{\s*['"]?QUERY_STRING['"]?\s*\}|\bparam\s*\(\s*['"]/
        $dir = /\bopendir\s*\(/
        $open = /\bopen\s*\(\s*[A-Z_]{1,20}\s*,\s*["']\s*[<>+]{0,2}\s*\$[a-zA-Z_]/
        $html = /Content-type:\s*text\/html/ nocase
    condition:
        $in and $dir and $open and $html and filesize < 30KB
}

rule perl_eval_decoded_blob
{
    meta:
        description = "Perl script that evaluates what a base64 decoder of its own returns from a variable (the packed code): a packed web shell"
        reference = "https://perldoc.perl.org/functions/eval ; https://perldoc.perl.org/functions/pack"
        severity = "infected"
    strings:
        $perl = "#!/usr/bin/perl"
        $eval = /eval\s*\(\s*&?[a-zA-Z_]{0,20}(b64|base64)_?decode[a-zA-Z_0-9]{0,20}\s*\(\s*\$[a-zA-Z_]{1,30}\s*\)\s*\)/
    condition:
        $perl at 0 and $eval and filesize < 2MB
}
