// Linux backdoors and coin miners: reverse shells, miner configuration and binaries.
// Written for Aftermath.

rule reverse_shell_one_liner
{
    meta:
        description = "a reverse shell: connects out and hands a shell to whoever listens (bash /dev/tcp, nc -e, socket+pty)"
        severity = "infected"
    strings:
        $bash_tcp = /(bash|sh)\s+-i\s*[>&0-9 ]{1,8}\/dev\/(tcp|udp)\/[^\/\s]{1,64}\/[0-9]{1,5}/
        $dev_tcp_exec = /exec\s+[0-9]<>\/dev\/tcp\/[^\/\s]{1,64}\/[0-9]{1,5}/
        $nc_e = /\b(nc|ncat|netcat)(\.traditional)?\s+(-[a-z]+\s+)*-e\s+\/bin\/(ba)?sh/
        $mkfifo = /mkfifo\s+\/tmp\/[^;|]{1,40};\s*(cat|tail)[^|]{0,40}\|\s*\/bin\/(ba)?sh\s+-i/
        $py_pty = /socket\.socket\s*\([^)]*\)[^\n]{0,300}(subprocess\.call|os\.dup2)[^\n]{0,300}(\/bin\/(ba)?sh|pty\.spawn)/
        $perl = /perl\s+-e\s+['"]use\s+Socket;[^'"]{0,300}exec\s*\(\s*['"]\/bin\/(ba)?sh/
    condition:
        any of them
}

rule coin_miner
{
    meta:
        description = "a cryptocurrency miner (XMRig strings or a stratum mining-pool address)"
        severity = "infected"
    strings:
        $stratum = /stratum\+(tcp|ssl|tls):\/\/[a-zA-Z0-9.\-]{3,80}:[0-9]{2,5}/
        $xmrig1 = "xmrig" nocase fullword
        $xmrig2 = "--donate-level" ascii
        $xmrig3 = "\"donate-level\"" ascii
        $xmrig4 = "randomx" nocase
        $xmrig5 = "cryptonight" nocase
        $pool = "\"pools\"" ascii
    condition:
        $stratum or ($xmrig1 and 1 of ($xmrig2, $xmrig3, $xmrig4, $xmrig5, $pool)) or ($xmrig3 and $pool)
}

rule ssh_key_backdoor_script
{
    meta:
        description = "a script that plants an SSH key in root's authorized_keys: persistence for an intruder"
        severity = "infected"
    strings:
        $echo = /echo\s+['"]?ssh-(rsa|ed25519)\s+AAAA[0-9A-Za-z+\/]{20,}[^>\n]{0,200}>>\s*\/root\/\.ssh\/authorized_keys/
    condition:
        $echo
}
