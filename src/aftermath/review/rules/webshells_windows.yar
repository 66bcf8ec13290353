// Classic ASP (VBScript/JScript) and ASP.NET (ASPX pages, ASHX handlers, ASMX services) web shells.
// Written for Aftermath from how the techniques work; see tests/review/test_rules.py.

rule asp_eval_request
{
    meta:
        description = "ASP page evaluates text sent by the visitor (eval/Execute/ExecuteGlobal of Request): the classic one-line web shell"
        reference = "https://learn.microsoft.com/en-us/previous-versions//03t418d2(v=vs.85)"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $e = /(eval|execute(global)?)[ (]{1,3}(request[ ]*[\(\.\[]|unescape\(request|session\()/ nocase
        $e2 = /\b(eval|execute|executeglobal)\s*\(?\s*[a-z_]{1,20}\s*\(\s*request\s*[\(\.\[]/ nocase
    condition:
        $asp and ($e or $e2)
}

rule asp_shell_objects
{
    meta:
        description = "ASP page creates the Windows shell (WScript.Shell, Shell.Application, WScript.Network) and takes input from the request: a web shell"
        reference = "https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/windows-scripting/aew9yb99(v=vs.84)"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $obj = /(wscript\.shell|shell\.application|wscript\.network|wscript\.shell\.1)/ nocase
        $clsid = /clsid:(72C24DD5-D70A-438B-8A42-98424B88AFB8|13709620-C279-11CE-A49E-444553540000)/ nocase
        $req = /request\s*[\(\.\[]/ nocase
    condition:
        $asp and ($obj or $clsid) and $req
}

rule asp_file_manager
{
    meta:
        description = "ASP page that writes, deletes or downloads files and databases the request names (FileSystemObject / ADODB.Stream): an intruder's file manager"
        reference = "https://learn.microsoft.com/en-us/office/vba/language/reference/user-interface-help/filesystemobject-object"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $req = /request\s*[\(\.\[]/ nocase
        $fso = /scripting\.filesystemobject|\{?0D43FE01-F093-11CF-8940-00A0C9054228\}?/ nocase
        $stream = "adodb.stream" nocase
        $w1 = /\.(deletefile|deletefolder|copyfile|copyfolder|movefile|movefolder|createfolder)\b/ nocase
        $w2 = /\.(createtextfile|opentextfile)\s*\(/ nocase
        $w3 = /\.savetofile\b/ nocase
        $w4 = /\.(drives|getfolder|subfolders)\b/ nocase
        $db = /(adodb\.connection|adox\.catalog)/ nocase
        $dbx = /\.execute\s*\(\s*(request|sql)/ nocase
    condition:
        $asp and $req and (($fso and 3 of ($w*)) or ($stream and $w3 and $fso) or ($db and $dbx and ($fso or $stream)))
}

rule asp_encoded_script
{
    meta:
        description = "ASP page carries script encoded with the Windows Script Encoder (#@~^...^#~@): hidden code in a web page"
        reference = "https://en.wikipedia.org/wiki/JScript.Encode"
        severity = "infected"
    strings:
        $asp = /<%|<script/ nocase
        $enc = /#@~\^[A-Za-z0-9+\/]{6}==/
    condition:
        $asp and $enc
}

rule asp_obfuscated_execute
{
    meta:
        description = "ASP page executes a string it builds from character codes or by reversing or un-escaping text: hidden code"
        reference = "https://learn.microsoft.com/en-us/previous-versions//03t418d2(v=vs.85)"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $exec = /\b(execute|executeglobal|eval)\s*\(?\s*[a-z_]{1,20}\s*\(/ nocase
        $chr = /(Chr|chr|CHR)[wWbB]?\(\d{2,3}\) ?& ?(Chr|chr|CHR)[wWbB]?\(\d{2,3}\) ?& ?(Chr|chr|CHR)/
        $rev = /strreverse\s*\(/ nocase
    condition:
        $asp and $exec and ($chr or $rev)
}

rule aspx_exec_on_request_input
{
    meta:
        description = "ASP.NET page or handler starts a process with input from the request (Process.Start / cmd.exe with Request[...]): a web shell"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.diagnostics.process.start"
        severity = "infected"
    strings:
        $page = /<%\s?@\s*(Page|WebHandler|WebService|Control|Assembly)/ nocase
        $script = /<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $start = /Process(StartInfo)?\s*\.\s*Start\s*\(|new\s+(System\.Diagnostics\.)?ProcessStartInfo\s*\(|\bProcess\s*\(\s*\)/ nocase
        $cmd = "cmd.exe" nocase
        $ps = "powershell" nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Params|Item|Headers|Cookies|InputStream|BinaryRead))?\s*[\[\(\.]/ nocase
        $ctl = /\.(Text|text)\b/
    condition:
        ($page or $script) and ($req or $ctl) and ($start or $cmd or $ps)
}

rule aspx_eval_or_load_request
{
    meta:
        description = "ASP.NET page evaluates or loads code the visitor sent (JScript eval of Request, Assembly.Load of request bytes: China Chopper, Behinder, Godzilla)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.reflection.assembly.load"
        severity = "infected"
    strings:
        $page = /<%\s?@\s*(Page|WebHandler|WebService|Control)|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $eval = /\beval\s*\(\s*(Request|System\.Text\.Encoding|[a-z_]{1,20}\s*\(\s*Request)/ nocase
        $load = /Assembly\s*\.\s*Load\s*\(|\.Load\s*\(\s*Convert\s*\.\s*FromBase64String/
        $bytes = /Request\s*\.\s*(BinaryRead|InputStream|Form|Params|Item|Cookies)|Convert\s*\.\s*FromBase64String\s*\(\s*Request/ nocase
        $crypt = /RijndaelManaged|Aes\.Create|CreateDecryptor|TransformFinalBlock|FromBase64String/
        $jscript = /Language\s*=\s*["']?(Jscript|js)["']?/ nocase
        $unsafe = /["']unsafe["']/ nocase
    condition:
        $page and ($eval or ($load and $bytes and $crypt) or ($jscript and $unsafe and $bytes))
}

rule aspx_file_manager
{
    meta:
        description = "ASP.NET page that browses drives and writes or deletes files the request names, or runs SQL it is sent: an intruder's file manager"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.io.file"
        severity = "infected"
    strings:
        $page = /<%\s?@\s*(Page|WebHandler|WebService|Control)|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Params|Item|Files))?\s*[\[\(\.]/ nocase
        $w1 = /File\s*\.\s*(Delete|WriteAllText|WriteAllBytes|Move|Copy|SetAttributes)\s*\(/
        $w2 = /Directory\s*\.\s*(Delete|GetFiles|GetDirectories|CreateDirectory|Move)\s*\(/
        $w3 = /(DriveInfo\s*\.\s*GetDrives|Environment\s*\.\s*GetLogicalDrives|Directory\s*\.\s*GetLogicalDrives)/
        $w4 = /new\s+(System\.IO\.)?(StreamWriter|FileStream)\s*\(/
        $w5 = /\.SaveAs\s*\(/
        $w6 = /new\s+(System\.IO\.)?(DirectoryInfo|FileInfo)\s*\(/
        $sql = /new\s+(System\.Data\.)?(SqlClient\.|OleDb\.|Odbc\.)?(SqlConnection|OleDbConnection|OdbcConnection|SqlCommand|OleDbCommand)\s*\(/
        $sqlreq = /(ConnectionString|CommandText|SqlCommand\s*\(|OleDbCommand\s*\()[^;]{0,80}(Request|\.Text\b)/
        $reg = /Registry\s*\.\s*(LocalMachine|CurrentUser)|RegistryKey/
    condition:
        ($page and $req and (($w3 and 3 of ($w*)) or ($reg and 2 of ($w*)))) or ($page and $sql and $sqlreq)
}

rule asp_file_writer
{
    meta:
        description = "ASP page that writes a file whose name or content the request gives (FileSystemObject/ADODB.Stream): a dropper for the next web shell"
        reference = "https://learn.microsoft.com/en-us/office/vba/language/reference/user-interface-help/createtextfile-method"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $fso = /scripting\.filesystemobject|adodb\.stream/ nocase
        $create = /\.(createtextfile|opentextfile|savetofile)\b/ nocase
        $req = /request\s*[\(\.\[]/ nocase
        $write = /\.write(line)?\b/ nocase
    condition:
        $asp and $fso and $create and $req and $write and filesize < 30KB
}

rule asp_database_console
{
    meta:
        description = "ASP page that opens a database connection or runs SQL the request gives: an intruder's database console"
        reference = "https://learn.microsoft.com/en-us/sql/ado/reference/ado-api/execute-method-ado-connection"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $open = /\.open\s*\(?\s*(request|trim\s*\(\s*request)/ nocase
        $exec = /\.execute\s*\(\s*(request|trim\s*\(\s*request|sql|strsql|sqlstr)/ nocase
        $conn = /adodb\.(connection|recordset)/ nocase
        $drive = /provider\s*=\s*(sqloledb|microsoft\.jet)/ nocase
        $schema = /openschema|sysobjects|sysdatabases|xp_cmdshell/ nocase
    condition:
        $asp and $conn and ($open or ($exec and ($schema or $drive)))
}

rule aspx_file_writer
{
    meta:
        description = "ASP.NET page or control that writes a file whose name or content the request gives, next to itself (a dropper for the next web shell)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.io.file.writealltext"
        severity = "infected"
    strings:
        $page = /<%\s?@\s*(Page|WebHandler|WebService|Control)|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $out = /new\s+(System\.IO\.)?StreamWriter\s*\(|File\s*\.\s*WriteAll(Text|Bytes)\s*\(|\.SaveAs\s*\(|new\s+(System\.IO\.)?FileStream\s*\(/ nocase
        $into = /(new\s+(System\.IO\.)?StreamWriter|File\s*\.\s*WriteAll(Text|Bytes)|\.SaveAs|new\s+(System\.IO\.)?FileStream)\s*\([^;]{0,100}Request\b/ nocase
        $content = /\.Write(Line)?\s*\(\s*Request\b/ nocase
        $drop = /(CreateText|WriteAllText|StreamWriter|FileStream)\s*\([^;]{0,80}\.(aspx|asp|ashx|asmx|cer|asa)["']/
    condition:
        $page and ($into or ($out and $content) or $drop) and filesize < 30KB
}

rule asp_hidden_execute
{
    meta:
        description = "ASP page executes text it decodes at run time, builds object names from pieces (\"scr\"&\"ipt\"&...), or downloads a script onto the server: hidden or dropped code"
        reference = "https://learn.microsoft.com/en-us/previous-versions//03t418d2(v=vs.85) ; https://learn.microsoft.com/en-us/sql/ado/reference/ado-api/savetofile-method"
        severity = "infected"
    strings:
        $asp = /<%|<script[^>]{0,60}runat\s*=\s*["']?server/ nocase
        $decoded = /execute(global)?\s*\(?\s*(decode|unescape|decrypt|[a-z]{1,12}de(code|crypt))\s*\(/ nocase
        $split = /createobject\s*\(\s*"[a-z.]{1,6}"\s*&\s*"[a-z.]{1,6}"\s*&/ nocase
        $save = /savetofile\s*\(?\s*"[^"\n]{0,160}\.(asp|aspx|asa|cer|cdx|php|jsp)"/ nocase
    condition:
        $asp and any of ($decoded, $split, $save)
}

rule asp_execute_decoded_session_code
{
    meta:
        description = "Classic ASP page that decodes its own code with a function of its own, keeps it in a session variable and runs it with Execute: a packed web shell"
        reference = "https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/scripting-articles/03t418d2(v=vs.84) ; MITRE ATT&CK T1027"
        severity = "infected"
    strings:
        $store = /session\s*\(\s*"[a-zA-Z_]{1,20}"\s*\)\s*=\s*[a-zA-Z_]{1,20}\s*\(/ nocase
        $run = /\bexecute\s*\(?\s*[a-zA-Z_]{1,20}\s*\)?\s*:/ nocase
    condition:
        $store and $run and filesize < 1MB
}

rule asp_execute_request_into_variables
{
    meta:
        description = "Classic ASP page that turns every request parameter into a variable with Execute (\"name=request(...)\" built as code): a register_globals emulation found in ASP web shells"
        reference = "https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/scripting-articles/03t418d2(v=vs.84)"
        severity = "infected"
    strings:
        $exec = /execute\s*\(?\s*""\s*&\s*[a-zA-Z_]{1,20}\s*&\s*"\s*=\s*request/ nocase
    condition:
        $exec
}

rule asp_file_operation_on_request
{
    meta:
        description = "Classic ASP page that copies, moves, deletes or opens files and folders named directly by the request through FileSystemObject: an intruder's file manager"
        reference = "https://learn.microsoft.com/en-us/office/vba/language/reference/user-interface-help/filesystemobject-object ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $fso = /\.(CopyFile|CopyFolder|DeleteFile|DeleteFolder|MoveFile|MoveFolder|CreateTextFile|OpenTextFile)\s*\(?\s*Request\s*(\.\s*(QueryString|Form)\s*)?\(/ nocase
    condition:
        $fso
}

rule aspx_packet_sniffer
{
    meta:
        description = "ASP.NET page that opens a raw IP socket and switches it to receive all packets (IOControl): a network sniffer run from the web server"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.net.sockets.socket.iocontrol ; MITRE ATT&CK T1040"
        severity = "infected"
    strings:
        $page = /<%@\s*Page\b/ nocase
        $raw = "SocketType.Raw"
        $io = /\.IOControl\s*\(/
    condition:
        $page and $raw and $io
}

rule aspx_form_file_writer
{
    meta:
        description = "ASP.NET page that writes the text of one form box into a file named by another (FileInfo/StreamWriter on a TextBox's Text): a writer that drops files, such as more shells"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.io.fileinfo.createtext ; MITRE ATT&CK T1505.003"
        severity = "infected"
    strings:
        $page = /<%@\s*Page\b/ nocase
        $open = /new\s+(System\.IO\.)?(FileInfo|StreamWriter)\s*\(\s*[A-Za-z_][A-Za-z0-9_]{0,20}\.Text\s*[,)]/
        $write = /\.Write(Line)?\s*\(\s*[A-Za-z_][A-Za-z0-9_]{0,20}\.Text\s*\)/
    condition:
        $page and $open and $write and filesize < 200KB
}

rule aspx_keyed_file_transfer
{
    meta:
        description = "ASP.NET page guarded by a key hard-coded in it and compared with a request parameter, that sends or receives files: an intruder's download/upload tool"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.web.httpresponse.writefile ; MITRE ATT&CK T1105"
        severity = "infected"
    strings:
        $key = /const\s+string\s+[A-Z_]{2,20}\s*=\s*"[^"\n]{1,40}"\s*;/
        $cmp = /Request\.(Params|QueryString|Form)\s*\[\s*"[a-zA-Z_]{1,20}"\s*\]\s*!=\s*[A-Z_]{2,20}\s*\)/
        $send = /Response\.(WriteFile|TransmitFile)\s*\(/
        $recv = /PostedFile\.SaveAs\s*\(|\.PostedFile\b/
    condition:
        $key and $cmp and ($send or $recv) and filesize < 200KB
}
