from tests.restic.conftest import restic_repos, variant  # noqa: F401  (same session fixtures)
