// PHP web shells: server-side code that runs what a request tells it to, or hides code that does.
// Written for Aftermath from how the techniques work (see each rule's reference); every rule is tested on
// a snippet we wrote (tests/review/test_rules.py) and measured on stock applications (bench/rules_quality.py):
// a rule that fires on a stock release of a common application is a defect.

rule php_exec_on_request_input
{
    meta:
        description = "PHP code passes request input (GET/POST/REQUEST/COOKIE) to eval, system or a shell: a web shell"
        reference = "https://www.php.net/manual/en/function.eval.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $exec = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(@\s*)?(base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*|stripslashes\s*\(\s*|trim\s*\(\s*|urldecode\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\s*\[/
        $call_user = /call_user_func(_array)?\s*\(\s*@?\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        // `...` runs a command; in a doc comment the same characters are Markdown, so the backticks must be
        // where a value goes (after =, (, echo, print, return or a dot)
        $backtick = /(=|\(|\.|\becho|\bprint|\breturn)\s*`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*`/
        $create_fn = /create_function\s*\([^;]{0,100}\$_(GET|POST|REQUEST|COOKIE)/
        // the same call written into a string that the file drops as another script
        $escaped = /\b(eval|assert|system|passthru|shell_exec|exec)\s*\(\s*\\\$_(GET|POST|REQUEST|COOKIE)/
        $header = /\b(eval|assert|system|passthru|shell_exec|exec|popen)\s*\(\s*getenv\s*\(\s*["']HTTP_/
    condition:
        $php and any of ($exec, $call_user, $backtick, $create_fn, $escaped, $header)
}

rule php_request_as_function
{
    meta:
        description = "PHP code calls a function whose name comes from the request ($_GET['a']($_GET['b']) and its kin): a one-line web shell"
        reference = "https://www.php.net/manual/en/functions.variable-functions.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $direct = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[[^\]]{1,40}\]\s*\(/
        $braced = /\$\{['"]?_(GET|POST|REQUEST|COOKIE)['"]?\}\s*\[[^\]]{1,40}\]\s*\(/
        // callbacks that come last (array_map's comes first: array_map('intval', $_POST['ids']) is benign)
        $callback = /\b(array_filter|array_walk|array_reduce|usort|uasort|uksort)\s*\([^;,]{0,60},\s*@?\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*\)/
        $first = /\b(array_map|register_shutdown_function|register_tick_function|ob_start)\s*\(\s*@?\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        $php and any of ($direct, $braced, $callback, $first)
}

rule php_eval_encoded_payload
{
    meta:
        description = "PHP code evaluates an encoded payload (eval of base64/gzinflate/str_rot13, preg_replace /e): an obfuscated backdoor"
        reference = "https://www.php.net/manual/en/function.gzinflate.php ; https://www.php.net/manual/en/reference.pcre.pattern.modifiers.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $a = /\b(eval|assert)\s*\(\s*(@\s*)?(["']\?>["']\s*\.\s*\(?\s*)?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev|convert_uudecode|hex2bin)\s*\(/
        $b = /preg_replace\s*\(\s*['"][^'"]{0,60}\/[a-df-z]*e[a-z]*['"]\s*,/
        $c = /=\s*['"](base64_decode|str_rot13|gzinflate|gzuncompress|assert|create_function)['"]\s*;/
    condition:
        $php and ($a or $b or $c)
}

rule php_obfuscated_code
{
    meta:
        description = "PHP code hides what it runs: function names spelled in hex or chr() pieces, reversed or rot13 names, or a long encoded blob fed to eval"
        reference = "https://www.php.net/manual/en/language.types.string.php#language.types.string.syntax.double"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $hex_name = /['"]\\x(62|42)\\x(61|41)\\x(73|53)\\x(65|45)\\x36\\x34/
        $hex_eval = /['"]\\x[46]5\\x[57]6\\x[46]1\\x[46][cC]/
        $hex_assert = /['"]\\x[46]1\\x[57]3\\x[57]3\\x[46]5\\x[57]2\\x[57]4/
        $oct_name = /['"]\\1(42|02)\\1(41|01)\\1(63|23)\\1(45|05)\\66\\64/
        $rev = /strrev\s*\(\s*['"](tressa|lave|edoced_46esab|metsys|etalfnizg|cexe_llehs)['"]/
        $rot = /str_rot13\s*\(\s*['"](riny|nffreg|onfr64_qrpbqr|flfgrz|tmvasyngr)['"]/
        $chr = /chr\s*\(\s*(101|0x65)\s*\)\s*\.\s*chr\s*\(\s*(118|0x76)\s*\)\s*\.\s*chr\s*\(\s*(97|0x61)\s*\)/
        $blob_eval = /\b(eval|assert)\s*\([^;]{0,60}['"][A-Za-z0-9+\/=]{1000}/
        $globals_fn = /\$GLOBALS\s*\[\s*['"][^'"]{1,30}['"]\s*\]\s*\[\s*\d+\s*\]\s*\(/
        $dollar_fn = /\$\{\s*"\\x[0-9a-fA-F]{2}/
        // four printable characters (32-126) in a row: a name or command; binary signatures (a PNG's
        // 137 80 78 71 13 10 26 10 in a test) are not code
        $chr_chain = /chr\(\s?(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s?\)\s?\.\s?chr\(\s?(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s?\)\s?\.\s?chr\(\s?(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s?\)\s?\.\s?chr\(\s?(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s?\)/
        $fn_chain = /\$[a-zA-Z_]{1,10}\(\d{2,3}\)\.\$[a-zA-Z_]{1,10}\(\d{2,3}\)\.\$[a-zA-Z_]{1,10}\(\d{2,3}\)/
        $cf_eval = /create_function\s*\(\s*['"]['"]\s*,\s*\$/
        $pack = /pack\(\s*['"][cC]\*['"]\s*,\s*(0x[0-9a-fA-F]{2}|\d{2,3})\s*,\s*(0x[0-9a-fA-F]{2}|\d{2,3})\s*,/
    condition:
        $php and any of ($hex_name, $hex_eval, $hex_assert, $oct_name, $rev, $rot, $chr, $blob_eval, $globals_fn, $dollar_fn,
                         $chr_chain, $fn_chain, $pack, $cf_eval)
}

rule php_encrypted_loader
{
    meta:
        description = "PHP code decrypts the request body and runs it (Behinder, Godzilla and similar encrypted web shells)"
        reference = "https://www.php.net/manual/en/wrappers.php.php ; https://www.php.net/manual/en/function.openssl-decrypt.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $input = "php://input" ascii nocase
        $post = /\$_(POST|REQUEST|COOKIE)\s*\[/
        $decrypt = /openssl_decrypt|mcrypt_decrypt|\^\s*\$key\s*\[|\$key\s*\[\s*\$i\s*\+\s*1\s*&\s*15\s*\]/
        $run = /\beval\s*\(|\bassert\s*\(|@new\s+[A-Z]\s*\(|create_function/
    condition:
        $php and ($input or $post) and $decrypt and $run
}

rule php_include_uploaded_or_input
{
    meta:
        description = "PHP code includes a file the visitor just sent (an uploaded temporary file, php://input or a data: URL)"
        reference = "https://www.php.net/manual/en/features.file-upload.post-method.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $tmp = /\b(include|require)(_once)?\s*\(?\s*\$_FILES\s*\[[^\]]{1,40}\]\s*\[\s*['"]tmp_name/
        $wrap = /\b(include|require)(_once)?\s*\(?\s*['"]php:\/\/input/
        $req = /\b(include|require)(_once)?\s*\(?\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        $php and any of ($tmp, $wrap, $req)
}

rule php_extract_request
{
    meta:
        description = "Small PHP file that turns every request parameter into a variable (extract($_REQUEST)) and calls through them: a one-line web shell"
        reference = "https://www.php.net/manual/en/function.extract.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $extract = /\bextract\s*\(\s*\$_(REQUEST|GET|POST|COOKIE)\s*\)/
    condition:
        $php and $extract and filesize < 4KB
}

rule php_shell_toolkit
{
    meta:
        description = "PHP file manager or command console: runs commands and probes the host (uname, safe_mode, /etc/passwd, disable_functions): a web shell"
        reference = "MITRE ATT&CK T1505.003 ; https://www.php.net/manual/en/ini.core.php#ini.disable-functions"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $x1 = /\bshell_exec\s*\(/
        $x2 = /\bpassthru\s*\(/
        $x3 = /\bproc_open\s*\(/
        $x4 = /\bpopen\s*\(/
        $x5 = /\bsystem\s*\(\s*\$/
        $x6 = /\bexec\s*\(\s*\$/
        $r1 = "uname -a" ascii nocase
        $r2 = "safe_mode" ascii nocase
        $r3 = "/etc/passwd" ascii
        $r4 = "disable_functions" ascii
        $r5 = "posix_getpwuid" ascii
        $r6 = "netstat -an" ascii nocase
        $r7 = /-perm\s+-0?[24]000/ ascii
        $r8 = "cmd.exe" ascii nocase
        $r9 = /back\s*connect/
        $r10 = "/bin/sh" ascii
        $r11 = "whoami" ascii
        $r12 = "open_basedir" ascii
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        $php and $req and ((2 of ($x*) and 2 of ($r*)) or (1 of ($x*) and 4 of ($r*)))
}

rule php_uploader
{
    meta:
        description = "PHP uploader that stores a posted file under the name the visitor chose, with nothing else around it: a dropper for web shells"
        reference = "https://www.php.net/manual/en/function.move-uploaded-file.php"
        severity = "suspicious"
    strings:
        $php = "<?" ascii
        $script = /move_uploaded_file\s*\([^;]{0,80}\.(php|phtml|asp|aspx|jsp)["']\s*\)/
        $small = /move_uploaded_file\s*\([^;]{0,120}\[\s*['"]name['"]\s*\]/
        $move = /(move_uploaded_file|copy)\s*\(\s*\$_FILES\s*\[[^\]]{1,40}\]\s*\[\s*['"]tmp_name['"]\s*\]\s*,\s*[^;]{0,80}\$_(FILES\s*\[[^\]]{1,40}\]\s*\[\s*['"]name|POST|GET|REQUEST)/
        $write = /(fwrite|file_put_contents|fputs)\s*\([^;]{0,60}\$_(POST|GET|REQUEST)\s*\[/
        $open = /(fopen|file_put_contents)\s*\(\s*\$_(POST|GET|REQUEST)\s*\[/
    condition:
        $php and (($move or ($write and $open)) and filesize < 20KB or ($small and filesize < 3KB) or $script)
}

rule php_exec_request_variable
{
    meta:
        description = "PHP code copies request input into a variable and runs it within the next lines ($cmd = $_REQUEST['cmd']; system($cmd)): a web shell"
        reference = "https://www.php.net/manual/en/function.system.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $flow = /\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*\)?\s*;[^;]{0,120};?[^;]{0,120}\b(system|passthru|shell_exec|popen|proc_open|pcntl_exec|eval|assert)\s*\(\s*(@\s*)?(base64_decode\s*\(\s*|stripslashes\s*\(\s*)?\$/
        $param = /\$_(GET|POST|REQUEST|COOKIE)\s*\[\s*['"]-?(cmd|command|exec|execute|shell|cmdline|run|code)['"]\s*\]/
        $x = /\b(system|System|SYSTEM|passthru|Passthru|shell_exec|Shell_Exec|Shell_exec|SHELL_EXEC|popen|proc_open|pcntl_exec)\s*\(\s*\$/
    condition:
        $php and ($flow or ($param and $x))
}

rule php_socket_shell
{
    meta:
        description = "PHP code that wires a shell to a network socket (reverse or bind shell: fsockopen/socket_create with proc_open or a command loop)"
        reference = "https://www.php.net/manual/en/function.fsockopen.php ; https://www.php.net/manual/en/function.proc-open.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $sock = /\b(fsockopen|pfsockopen|socket_create|stream_socket_client|stream_socket_server|socket_bind)\s*\(/
        $x = /\b(proc_open|shell_exec|passthru|popen|system)\s*\(/
        $sh = /["']\/bin\/(ba)?sh|["'](uname -a|cmd\.exe|cmd)["']|\bw; id;|sh -i/
    condition:
        $php and $sock and $x and $sh
}

rule php_split_function_names
{
    meta:
        description = "PHP code spells dangerous function names in pieces ('ev'.'al', 'base'.'64_de'.'code', 'cr'.'eat'.'e_function') to hide them: an obfuscated backdoor"
        reference = "https://www.php.net/manual/en/language.operators.string.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $ev = /['"]e['"]\s*\.\s*['"]v|['"]ev['"]\s*\.\s*['"]a|['"]eva['"]\s*\.\s*['"]l|['"]e['"]\s*\.\s*['"]va/
        $b64 = /['"](b|ba|bas|base|base6|base64|base64_|base64_d)['"]\s*\.\s*['"](ase|se|e|64|4|_|_d|d|de|ec|eco)[a-z0-9_]{0,6}['"]\s*\.\s*['"]/
        $gz = /['"](g|gz|gzi|gzin|gzinf)['"]\s*\.\s*['"](z|zi|in|inf|nf|fl|f|l)[a-z]{0,5}['"]\s*\./
        $cf = /['"](c|cr|cre|crea|creat)['"]\s*\.\s*['"](r|re|ea|eat|at|t|te|e_)[a-z_]{0,5}['"]\s*\.\s*['"]/
        $as = /['"](a|as|ass|asse)['"]\s*\.\s*['"](s|ss|se|ser|sert|ert|rt|t)['"]\s*[;.)]/
    condition:
        $php and any of ($ev, $b64, $gz, $cf, $as)
}

rule php_application_backdoor
{
    meta:
        description = "PHP code creates an administrator or runs SQL from request input without the application's checks (a planted CMS backdoor or database console)"
        reference = "https://developer.wordpress.org/reference/functions/wp_create_user/"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $wp = /wp_create_user\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)/
        $db = /\b(mysql_connect|mysqli_connect|mysql_pconnect|pg_connect|mssql_connect|oci_connect|new\s+mysqli|new\s+PDO)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $q = /\b(mysql_query|mysqli_query|pg_query|mssql_query)\s*\(\s*(\$[a-z_]{1,20}\s*,\s*)?\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        $php and any of ($wp, $db, $q)
}

rule php_command_console
{
    meta:
        description = "PHP page with a form or request input that runs a command held in a variable (passthru($cmd), popen, backticks): a command console"
        reference = "https://www.php.net/manual/en/language.operators.execution.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $x = /\b(passthru|system|shell_exec|popen|proc_open|exec|eval|Passthru|System|Shell_Exec|Shell_exec|Exec)\s*\(\s*["']?\s*\$[a-zA-Z_]/
        $tick = /`\$[a-zA-Z_]{1,20}[^`\n]{0,80}`/
        $form = /<(form|FORM|Form|textarea|TEXTAREA)\b/
        $probe = /\b(exec|system|shell_exec|passthru|popen)\s*\(\s*["'](pwd|id|whoami|uname|ls|dir|ver|net user)\b/
        $recon = /uname -a|whoami|\/bin\/(ba)?sh|cmd\.exe|ls -la|netstat -an|ipconfig|ifconfig|name=["']?(cmd|command|komut|kod)["' >]/
    condition:
        $php and ($x or $tick) and $form and ($recon or $probe) and filesize < 1MB
}

rule php_file_manager
{
    meta:
        description = "PHP page with a form that lists folders and edits, deletes or re-permissions the files the visitor names: an intruder's file manager"
        reference = "https://www.php.net/manual/en/function.readdir.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $form = /<(form|FORM|Form|textarea|TEXTAREA)\b/
        $input = /\$_(GET|POST|REQUEST)\s*\[|\$HTTP_(GET|POST)_VARS/
        $list = /\b(readdir|opendir|scandir|glob)\s*\(/
        $del = /\b(unlink|rmdir)\s*\(\s*\$/
        $write = /\b(fwrite|fputs|file_put_contents|move_uploaded_file|copy)\s*\(/
        $perm = /\b(chmod|chown|touch|rename)\s*\(\s*\$/
        $host = /uname|safe_mode|php_uname|getmyuid|posix_getpwuid|get_current_user|\/etc\/passwd/
    condition:
        $php and $form and $input and $list and $del and $write and $perm and $host and filesize < 1MB
}

rule php_eval_packed_blob
{
    meta:
        description = "PHP file that evaluates an encoded string through a function whose name it hid (eval($f('aWYo...')), names spelled in mixed octal and hex escapes, or letters picked out of a url-encoded pool): a packed web shell"
        reference = "https://www.php.net/manual/en/language.types.string.php#language.types.string.syntax.double"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $call = /\beval\s*\(\s*\(?\s*\$\$?[A-Za-z0-9_]{1,30}\s*\(\s*['"][A-Za-z0-9+\/]{40}/
        $b64 = /["'](\\x62|\\142)(\\x61|\\141)(\\x73|\\163)(\\x65|\\145)(\\x36|\\66)(\\x34|\\64)/
        $pool = /urldecode\(['"]%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}/
        $eval = /\beval\s*\(/
    condition:
        $php and ($call or (($b64 or $pool) and $eval))
}

rule php_database_console
{
    meta:
        description = "PHP page with a query box that runs the SQL typed into it and lists databases and tables: an intruder's database console or dumper"
        reference = "https://www.php.net/manual/en/function.mysql-query.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $query = /\b(mysql_query|mysqli_query|pg_query|mssql_query|sqlsrv_query)\s*\(\s*(stripslashes\s*\(\s*)?["']?\$/
        $box = /<(textarea|TEXTAREA|input|INPUT)\b/
        $list1 = /show\s+(databases|tables)|SHOW\s+(DATABASES|TABLES)|Show\s+Tables/
        $list2 = /SHOW\s+CREATE\s+TABLE|show\s+create\s+table|LOAD\s+DATA\s+LOCAL\s+INFILE|pg_database|mysql_list_dbs|mysql_list_tables/
        $dump = /\bmysql_query\s*\(\s*["'](SHOW|show)\s+(TABLES|tables|CREATE|create)/
    condition:
        $php and ($query or $dump) and $box and ($list1 or $list2) and filesize < 400KB
}

rule php_legacy_file_manager
{
    meta:
        description = "PHP page with a form that lists folders and writes and deletes files, taking its input from register_globals variables (no $_GET/$_POST at all): an old intruder's file manager"
        reference = "https://www.php.net/manual/en/security.globals.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $form = /<(form|FORM|Form)\b/
        $input = /\$_(GET|POST|REQUEST|COOKIE|FILES|SERVER)\b|\$HTTP_(GET|POST|COOKIE)_VARS/
        $list = /\b(readdir|opendir|scandir)\s*\(/
        $del = /\b(unlink|rmdir)\s*\(\s*["']?\$/
        $write = /\b(fwrite|fputs|file_put_contents)\s*\(/
    condition:
        $php and $form and $list and $del and $write and not $input and filesize < 200KB
}

rule php_exec_function_chosen_by_name
{
    meta:
        description = "PHP page that stores the name of a command-running function (passthru, system, shell_exec, exec, popen) in a variable and calls it through the variable: a command shell hiding its call"
        reference = "https://www.php.net/manual/en/functions.variable-functions.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        // not the string 'system' alone: CMSes name templates, plugin groups and folders so ($template = 'system')
        $quoted = /\$[a-zA-Z_]{1,20}\s*=\s*["'](passthru|shell_exec|exec|popen|proc_open)["']\s*;/
        $bare = /\$[a-zA-Z_]{1,20}\s*=\s*(passthru|shell_exec|system)\s*;/
    condition:
        $php and ($quoted or $bare) and filesize < 500KB
}

rule php_socket_reuse_shell
{
    meta:
        description = "PHP page that hands the visitor's own address and port to a program it runs (findsock-style shell: the program finds the web server's socket to that port and runs a shell on it)"
        reference = "https://www.php.net/manual/en/reserved.variables.server.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $run = /\b(system|passthru|shell_exec|exec|popen|proc_open)\s*\([^;\n]{0,120}\$_SERVER\s*\[\s*["']REMOTE_PORT["']\s*\]/
    condition:
        $run
}

rule php_eval_spelled_by_letters
{
    meta:
        description = "PHP code that spells eval or assert one quoted letter at a time and joins them with dots, so that no scanner sees the word: an obfuscated one-liner"
        reference = "https://www.php.net/manual/en/language.operators.string.php ; MITRE ATT&CK T1027"
        severity = "infected"
    strings:
        $eval = /["'][eE]["']\.["'][vV]["']\.["'][aA]["']\.["'][lL]["']/
        $assert = /["'][aA]["']\.["'][sS]["']\.["'][sS]["']\.["'][eE]["']\.["'][rR]["']/
    condition:
        $eval or $assert
}

rule php_command_in_concatenation
{
    meta:
        description = "PHP page that takes a command from a form field named cmd and runs it inside a longer command line it builds by concatenation: a command shell"
        reference = "https://www.php.net/manual/en/function.passthru.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $in = /\$_(POST|GET|REQUEST)\s*\[\s*["'](cmd|command)["']\s*\]/
        $run = /\b(system|passthru|shell_exec|popen|proc_open)\s*\([^;\n]{0,300}\.\s*\$(cmd|command)\s*\./
    condition:
        $in and $run and filesize < 200KB
}

rule php_mysql_plants_system_file
{
    meta:
        description = "PHP page that makes the database server write a Windows MOF file (run by WMI) or load a DLL as a MySQL user-defined function, to run commands as the database service"
        reference = "https://dev.mysql.com/doc/refman/8.0/en/create-function-loadable.html ; MITRE ATT&CK T1546.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $dumpfile = /dumpfile\s+["']/ nocase
        $mof = /wbem[\\\/]{1,4}mof|#pragma\s+namespace/ nocase
        $soname = /soname\s+["']/ nocase
        $dll = /0x4d5a[0-9a-f]{64}/ nocase
    condition:
        $php and (($dumpfile and $mof) or ($soname and $dll)) and filesize < 2MB
}

rule php_variable_function_on_request
{
    meta:
        description = "PHP code calls a function held in a variable with request input as its argument ($f($_POST['c'])), the function's name decoded from a literal or the file only a few lines: a one-line web shell"
        reference = "https://www.php.net/manual/en/functions.variable-functions.php ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $call = /\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*\(\s*@?\$_(POST|GET|REQUEST|COOKIE)\s*\[/
        $decoded = /\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*=\s*(base64_decode|str_rot13|strrev|hex2bin|gzinflate)\s*\(\s*["'][^"'\n]{2,40}["']\s*\)/
    condition:
        $php and $call and ($decoded or filesize < 4KB)
}

rule php_exec_decoded_request
{
    meta:
        description = "PHP page that base64-decodes a request parameter into a variable and runs it as a command (the command travels encoded past filters and logs): a command shell"
        reference = "https://www.php.net/manual/en/function.exec.php ; MITRE ATT&CK T1505.003, T1132"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $decode = /=\s*base64_decode\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $run = /\b(exec|system|passthru|shell_exec|popen|proc_open)\s*\(\s*\$[a-zA-Z_][a-zA-Z0-9_]{0,30}\s*[.,)]/
    condition:
        $php and $decode and $run and filesize < 200KB
}

rule php_upload_to_requested_path
{
    meta:
        description = "PHP page that copies an uploaded file to a path the request names: an uploader that lets the visitor place any file anywhere the server may write"
        reference = "https://www.php.net/manual/en/features.file-upload.post-method.php ; MITRE ATT&CK T1105"
        severity = "infected"
    strings:
        $copy = /\b(copy|move_uploaded_file)\s*\(\s*\$(HTTP_POST_FILES|_FILES)\s*\[[^\]]{1,40}\]\s*\[\s*["']tmp_name["']\s*\]\s*,\s*\$_(POST|GET|REQUEST)\s*\[/
    condition:
        $copy
}

rule php_safe_mode_bypass_reader
{
    meta:
        description = "PHP page that reads files past safe_mode/open_basedir through a wrapper trick (copy from compress.zlib:// to a temporary file, cURL on a file: URL) or lists them from safe_mode's own error messages: an intruder's file reader"
        reference = "https://www.php.net/manual/en/wrappers.compression.php ; https://www.php.net/manual/en/ini.core.php#ini.open-basedir"
        severity = "infected"
    strings:
        $zlib = /copy\s*\(\s*["']compress\.zlib:\/\/["']\s*\.\s*\$[a-zA-Z_]/
        $curl = /CURLOPT_URL\s*,\s*["']file:(file:)?\/\/\/?["']\s*\.\s*\$[a-zA-Z_]/
        $errors = /whose\\?\s{0,2}uid\\?\s{0,2}is/ nocase
        $handler = /set_error_handler\s*\(/
        $glob = /\bglob\s*\(\s*\$[a-zA-Z_]{1,20}\s*\.\s*["']\*["']\s*\)/
    condition:
        $zlib or $curl or ($errors and $handler and $glob)
}

rule php_config_harvester
{
    meta:
        description = "PHP page that reads /etc/passwd to learn the server's users and goes through their public_html for application configuration files (wp-config.php, configuration.php): a harvester of other sites' database passwords on shared hosting"
        reference = "https://attack.mitre.org/techniques/T1552/001/"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $passwd = "/etc/passwd"
        $home = "public_html"
        $config = /wp-config\.php|configuration\.php/
    condition:
        $php and $passwd and $home and $config and filesize < 300KB
}

rule php_exec_fallback_chain
{
    meta:
        description = "PHP code that probes for four or more of the command-running functions (exec, shell_exec, system, passthru, popen, proc_open) to use whichever the host allows: a shell's 'run it any way possible' helper"
        reference = "https://www.php.net/manual/en/function.function-exists.php ; https://www.php.net/manual/en/ini.core.php#ini.disable-functions"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $exec = /(function_exists|is_callable)\s*\(\s*["']exec["']\s*\)/
        $shell_exec = /(function_exists|is_callable)\s*\(\s*["']shell_exec["']\s*\)/
        $system = /(function_exists|is_callable)\s*\(\s*["']system["']\s*\)/
        $passthru = /(function_exists|is_callable)\s*\(\s*["']passthru["']\s*\)/
        $popen = /(function_exists|is_callable)\s*\(\s*["']popen["']\s*\)/
        $proc_open = /(function_exists|is_callable)\s*\(\s*["']proc_open["']\s*\)/
    condition:
        $php and 4 of ($exec, $shell_exec, $system, $passthru, $popen, $proc_open)
}

rule php_file_operation_on_request
{
    meta:
        description = "PHP code that deletes, writes, renames, changes the mode of or shows a file whose name comes straight from the request (a function, not an object's method): an intruder's file editor or reader"
        reference = "https://owasp.org/www-community/attacks/Path_Traversal ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $php = "<?" ascii
        // not "->rename(" or "::unlink(": an application's own methods take request values too
        $op = /[^>:\w$](unlink|rmdir|chmod|file_put_contents|fopen|rename|highlight_file|show_source|readfile|file_get_contents)\s*\(\s*\$_(POST|GET|REQUEST)\s*\[/
    condition:
        $php and $op
}

rule php_non_alphanumeric_code
{
    meta:
        description = "PHP code written with variables named only by underscores ($_, $__, $___) that builds a function name from symbols and calls it: a shell with no letter in its code, made to slip past word-based scanners"
        reference = "https://www.php.net/manual/en/language.variables.basics.php ; MITRE ATT&CK T1027"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $underscores = /\$_{1,6}[^A-Za-z0-9_]/
        $call = /\$_{1,6}(\s*\[[^\]\n]{1,40}\])?\s*\(\s*\$_/
    condition:
        $php and #underscores > 30 and $call and filesize < 100KB
}

rule php_register_globals_upload
{
    meta:
        description = "PHP page written for register_globals that copies an uploaded file (PHP made the form field $f the temporary file and $f_name its name) to a path built from that name, without ever reading $_FILES: an old shell's uploader"
        reference = "https://www.php.net/manual/en/security.globals.php ; https://www.php.net/manual/en/features.file-upload.post-method.php"
        severity = "infected"
    strings:
        $php = "<?" ascii
        $copy = /\b(copy|move_uploaded_file)\s*\(\s*\$[a-zA-Z_]\w{0,30}\s*,\s*["'][^"'\n]{0,80}\$[a-zA-Z_]\w{0,30}_name\b/
        $files = "$_FILES"
        $http = "$HTTP_POST_FILES"
    condition:
        $php and $copy and not $files and not $http
}
