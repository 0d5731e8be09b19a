"""Shared by the test helper scripts that must end with the test process that started them."""


def alive(pid: int) -> bool:
    """Whether pid runs: a zombie (a test process killed where nobody reaps it) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
