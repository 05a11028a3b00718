"""What the tests share: worlds to run the bot in, generated inputs, and the helpers that
play a flow. Test modules import from here, never from one another; nothing here imports a
test module.

- ``postgres``: the throwaway PostgreSQL server and the migrated template databases;
- ``stand``: the real bot Application against the emulator (in-process), a bot as a
  subprocess (``BotProcess``), and their configuration;
- ``publishing``, ``moderation``, ``interest``, ``erasure``: steps of those flows;
- ``imagegen``, ``hostile``: photos and hostile uploads generated in memory;
- ``gallery``, ``sitehttp``, ``browser``, ``sandbox``, ``posters``, ``cli``: the public site,
  the browser, the sandbox process, printed posters and the command line.
"""

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project's folder."""


def free_port() -> int:
    """A port free on loopback now (for a server whose URL must be known before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
