"""The server's email parser workers, as an operator sees them: processes of the server."""

from __future__ import annotations

from pathlib import Path

from services.inbox.ingest.parsing import DEFAULT_WORKERS
from tests.support.processes import clean_environment, free_port, started


def _workers_of(server: int) -> list[int]:
    """The server's parser workers: its children that multiprocessing spawned."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid …: comm may hold spaces, the rest comes after its ")".
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
        if parent == server and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_the_parser_workers_run_before_the_server_answers_and_load_no_server(
    tmp_path: Path,
) -> None:
    """The first email after a start waits for no process to start; and a worker imports the
    parser, not the whole server again (no database layer, no web server in its memory)."""
    env = clean_environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")

    with started(port=free_port(), env=env) as served:
        workers = _workers_of(served.process.pid)
        maps = {pid: Path(f"/proc/{pid}/maps").read_text() for pid in workers}
        server_maps = Path(f"/proc/{served.process.pid}/maps").read_text()

    assert len(workers) == DEFAULT_WORKERS
    assert "sqlalchemy" in server_maps  # what the check below looks for is there to be seen
    for pid, mapped in maps.items():
        assert "sqlalchemy" not in mapped, f"worker {pid} loaded the database layer"
        assert "uvloop" not in mapped, f"worker {pid} loaded the web server"
