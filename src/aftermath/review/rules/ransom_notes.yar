// Ransom notes: text that tells the victim their files are encrypted and how to pay.
// Written for Aftermath. A note means ransomware ran: severity "encrypted".

rule ransom_note_text
{
    meta:
        description = "a ransom note: says the files were encrypted and asks for payment or contact to decrypt them"
        severity = "encrypted"
    strings:
        $enc1 = /(all\s+)?your\s+(important\s+)?(files|documents|data|network)\s+(have\s+been|has\s+been|are|were)\s+(encrypted|locked)/ nocase
        $enc2 = /files\s+(have\s+been|are)\s+encrypted/ nocase
        $pay1 = /\b(bitcoin|btc|monero|xmr)\b/ nocase
        $pay2 = /decrypt(ion|or)?\s+(tool|key|software|program)/ nocase
        $pay3 = /\b(ransom|payment)\b/ nocase
        $pay4 = /\bpay\s+us\b/ nocase
        $onion = /[a-z2-7]{56}\.onion/
        $tox1 = /\btox(id|chat)\b/ nocase
        $tox2 = /\btox\s+(id|chat)\b/ nocase
    condition:
        filesize < 200KB and any of ($enc*) and (any of ($pay*) or $onion or any of ($tox*))
}

rule ransom_note_onion_contact
{
    meta:
        description = "a short text with a Tor (.onion) address and a demand to pay or to get a decryptor: a ransom note"
        severity = "encrypted"
    strings:
        $onion = /[a-z2-7]{56}\.onion/
        $w1 = /decrypt/ nocase
        $w2 = /\b(bitcoin|btc|monero)\b/ nocase
        $w3 = /\b(ransom|leak(ed)?\s+(your\s+)?data)\b/ nocase
    condition:
        filesize < 64KB and $onion and 2 of ($w*)
}
