"""Executables and scripts that appear in data folders (uploads, shares, documents).

Programs belong in program folders. A PHP file in ``wp-content/uploads`` or an ELF binary in a shared
documents folder is how web shells and dropped tools usually look in a backup. Only a heuristic, so
findings are "suspicious".

Applications have their own folders named like data folders (TinyMCE's ``plugins/media``, phpMyAdmin's
``libraries/classes/Plugins/Import/Upload``, DokuWiki's ``lib/images``, MediaWiki's ``includes/upload``):
a folder below a code folder (``lib``, ``includes``, ``plugins``, ``vendor``, ...) is the application's,
not a data folder. Across snapshots the review also drops a placement finding that was already there,
unchanged, in the first snapshot (:func:`aftermath.review.verdict.without_settled`): what matters is a
program that appeared in a data folder later.

JavaScript (``.js``) runs in the visitor's browser when a web site serves it, and a CMS keeps its own
scripts in web folders named like data folders (Joomla's ``media/system/js``, ``media/vendor/tinymce``):
it counts as a program only in people's document folders (shares, documents, downloads, ...), where
Windows runs a ``.js`` file with a double click.
"""

from __future__ import annotations

from collections.abc import Iterable

from aftermath.review import filetype
from aftermath.review.scanner import Finding, extension

DATA_FOLDERS = frozenset(
    [
        "uploads", "upload", "documents", "shares", "share", "shared", "files", "media", "images", "img", "pictures",
        "photos", "attachments", "invoices", "scans", "downloads", "desktop", "public_files", "userfiles"
    ]
)
SCRIPT_EXTENSIONS = frozenset(
    [
        ".php", ".php3", ".php4", ".php5", ".php7", ".phtml", ".phar", ".jsp", ".jspx", ".asp", ".aspx", ".ashx",
        ".asmx", ".cgi", ".pl", ".py", ".sh", ".bash", ".ps1", ".psm1", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".hta",
        ".bat", ".cmd", ".scr", ".exe", ".dll", ".so", ".elf", ".msi", ".lnk"
    ]
)
# Folders of people's documents (not of a web site): Windows Script Host runs a .js file there when opened.
DOCUMENT_FOLDERS = frozenset(
    ["documents", "shares", "share", "shared", "downloads", "desktop", "attachments", "invoices", "scans"]
)
BROWSER_SCRIPTS = frozenset([".js"])
BINARY_TYPES = frozenset({"elf", "pe", "macho"})
# Folders that hold an application's code: a "media" or "upload" folder below one is part of the code.
CODE_FOLDERS = frozenset(
    [
        "lib", "libs", "library", "libraries", "include", "includes", "inc", "classes", "src", "plugins", "modules",
        "vendor", "node_modules", "core", "wp-includes", "wp-admin", "program", "js", "tpl", "templates", "themes",
        "extensions", "skins", "components", "administrator", "editors", "site-packages", "dist-packages", "layouts",
    ]
)


class PlacementScanner:
    """Flag programs in folders that should hold only data."""

    name = "placement"
    head_bytes = 4096  # all it reads of a file: the type and a "#!" line

    def __init__(self, data_folders: Iterable[str] = DATA_FOLDERS, code_folders: Iterable[str] = CODE_FOLDERS) -> None:
        self.data_folders = frozenset(f.lower() for f in data_folders)
        self.code_folders = frozenset(f.lower() for f in code_folders)

    def data_folder(self, path: str) -> str | None:
        """The data folder that ``path`` lies in (its nearest one), or None; none below a code folder."""
        parts = [p.lower() for p in path.strip("/").split("/")[:-1]]
        for index in range(len(parts) - 1, -1, -1):
            if parts[index] in self.data_folders:
                return None if self.code_folders.intersection(parts[:index]) else parts[index]
        return None

    def path_key(self, path: str) -> str:
        """Whether the file lies in a data folder, and its extension."""
        return f"{self.data_folder(path) or ''}|{extension(path)}"

    def scan(self, path: str, data: bytes) -> list[Finding]:
        """A finding when a data folder holds a binary program, a script, or a script-like name."""
        folder = self.data_folder(path)
        if folder is None:
            return []
        kind = filetype.detect(data[:4096])
        ext = extension(path)
        if kind in BINARY_TYPES:
            what = f"an executable ({kind.upper()} binary)"
        elif data.startswith(b"#!"):
            what = "a script (it starts with #!)"
        elif ext in SCRIPT_EXTENSIONS and (ext not in BROWSER_SCRIPTS or folder in DOCUMENT_FOLDERS):
            what = f"a {ext} program file"
        else:
            return []
        return [Finding("placement", "program-in-data-folder", path, "suspicious",
                        f"{what} inside the data folder '{folder}/': programs do not belong there", self.name)]
