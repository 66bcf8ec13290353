// JSP and JSPX web shells. Written for Aftermath from how the techniques work; see tests/review/test_rules.py.

rule jsp_exec_on_request_input
{
    meta:
        description = "JSP page runs a command taken from the request (Runtime.exec / ProcessBuilder with request input): a web shell"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/lang/Runtime.html#exec-java.lang.String-"
        severity = "infected"
    strings:
        $rt = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/
        $pb = /new\s+ProcessBuilder\s*\(/
        $req = /request\s*\.\s*(getParameter|getHeader|getInputStream|getReader|getQueryString)\s*\(/
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
    condition:
        $jsp and $req and ($rt or $pb)
}

rule jsp_runs_commands
{
    meta:
        description = "JSP page starts operating-system commands (Runtime.exec, ProcessBuilder, or cmd.exe / /bin/sh): application pages do not"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/lang/ProcessBuilder.html"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $rt = /getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/
        $pb = /new\s+ProcessBuilder\s*\(/
        $reflect = /["']java\.lang\.(Runtime|ProcessBuilder)["']/
    condition:
        $jsp and ($rt or $pb or $reflect)
}

rule jsp_class_loader
{
    meta:
        description = "JSP page defines a Java class from bytes it received (Behinder, Godzilla and other encrypted in-memory shells)"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/lang/ClassLoader.html#defineClass-java.lang.String-byte:A-int-int-"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $define = /defineClass|ClassLoader|URLClassLoader|MethodHandles/
        $crypt = /Cipher\s*\.\s*getInstance|decodeBuffer|getDecoder\s*\(\s*\)\s*\.\s*decode|base64Decode|parseBase64Binary/
        $req = /request\s*\.\s*(getReader|getInputStream|getParameter|getHeader)\s*\(/
    condition:
        $jsp and $define and $crypt and $req
}

rule jsp_script_engine
{
    meta:
        description = "JSP page evaluates script text from the request with the Java script engine"
        reference = "https://docs.oracle.com/javase/8/docs/api/javax/script/ScriptEngineManager.html"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $engine = "ScriptEngineManager" ascii
        $eval = /\.eval\s*\(/
        $req = /request\s*\.\s*getParameter\s*\(/
    condition:
        $jsp and $engine and $eval and $req
}

rule jsp_file_manager
{
    meta:
        description = "JSP page that lists, writes and deletes files the request names, or browses databases for it: a file manager left behind by an intruder"
        reference = "MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $req = /request\s*\.\s*getParameter\s*\(/
        $f1 = /new\s+File\s*\(\s*request\s*\.\s*getParameter/
        $f2 = /new\s+File(Output|Input)Stream\s*\(\s*(request\s*\.\s*getParameter|new\s+File\s*\(\s*request)/
        $f3 = /\.listFiles\s*\(\s*\)/
        $f4 = /\.delete\s*\(\s*\)/
        $f5 = /new\s+FileOutputStream\s*\(/
        $f6 = /\.renameTo\s*\(/
        $f7 = /\.listRoots\s*\(\s*\)/
        $db = /DriverManager\s*\.\s*getConnection\s*\(\s*[^)]{0,80}request\s*\.\s*getParameter/
        $sock = /new\s+Socket\s*\(\s*request\s*\.\s*getParameter/
    condition:
        $jsp and $req and ($f1 or $f2 or $db or $sock or 4 of ($f3, $f4, $f5, $f6, $f7))
}

rule jsp_unicode_escaped
{
    meta:
        description = "JSP page written in \\u escapes (the compiler decodes them; people do not write code that way): hidden code"
        reference = "https://docs.oracle.com/javase/specs/jls/se8/html/jls-3.html#jls-3.3"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $u = /(\\u00[2-7][0-9a-f]){12}/ nocase
    condition:
        $jsp and $u
}

rule jsp_tunnel
{
    meta:
        description = "JSP page relays network connections for the visitor (reGeorg, Neo-reGeorg, Suo5 and similar tunnels)"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/nio/channels/SocketChannel.html"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $chan = /SocketChannel\s*\.\s*open|new\s+Socket\s*\(/
        $req = /request\s*\.\s*(getHeader|getParameter|getInputStream)\s*\(/
        $session = /session\s*\.\s*(setAttribute|getAttribute)\s*\(/
        $verb = /["'](CONNECT|DISCONNECT|FORWARD|READ)["']/
    condition:
        $jsp and $chan and $req and ($session or $verb)
}

rule jsp_file_writer
{
    meta:
        description = "Small JSP page that writes a file whose name or content the request gives (a dropper that plants the next web shell)"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/io/FileOutputStream.html"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $req = /request\s*\.\s*getParameter\s*\(/
        $out = /new\s+(java\.io\.)?(FileOutputStream|FileWriter|RandomAccessFile|PrintWriter\s*\(\s*new\s+(java\.io\.)?File)|java\.util\.logging\.FileHandler|Files\s*\.\s*write\s*\(/
        $write = /\.(write|print|println|info)\s*\(/
        // a File made from a variable, then a PrintWriter on that File (PrintWriter(File) opens it for writing)
        $file = /new\s+(java\.io\.)?File\s*\(\s*[a-zA-Z_]\w{0,20}\s*\)/
        $pw = /new\s+(java\.io\.)?PrintWriter\s*\(\s*[a-zA-Z_]\w{0,20}\s*\)/
    condition:
        $jsp and $req and ($out or ($file and $pw)) and $write and filesize < 20KB
}

rule jsp_database_console
{
    meta:
        description = "JSP page that runs SQL or connects to a database the request names: an intruder's database console"
        reference = "https://docs.oracle.com/javase/8/docs/api/java/sql/Statement.html"
        severity = "infected"
    strings:
        $jsp = /<%[@!=]?|<jsp:(scriptlet|declaration|directive)/
        $q = /\.(executeQuery|executeUpdate|execute)\s*\(\s*(request\s*\.\s*getParameter|["'][^"']{0,120}["']\s*\+\s*request\s*\.\s*getParameter)/
        $conn = /DriverManager\s*\.\s*getConnection\s*\(\s*(request|[a-z]{1,20}\s*\+\s*request)/
        $concat = /\.executeQuery\s*\(\s*"(SHOW CREATE TABLE|SELECT \* FROM|select \* from) "\s*\+\s*[a-zA-Z_]/
        $meta = /getMetaData\s*\(\s*\)|all_tables|information_schema|sysobjects/ nocase
        $req = /request\s*\.\s*getParameter\s*\(/
        $stmt = /createStatement\s*\(/
    condition:
        $jsp and ($q or $conn or $concat or ($req and $stmt and $meta and filesize < 60KB))
}
