"""A tour of the Engine API on the `notes` example project.

Run it from the repository root:  .venv/bin/python docs/examples/quickstart.py
"""

import asyncio
import tempfile
from pathlib import Path

from reactor import Engine, UserError

PROJECT = Path(__file__).parent / "notes"
ALICE = {"subject": "alice", "issuer": "https://auth.example"}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Engine.open(PROJECT, database=f"sqlite:///{tmp}/notes.db") as engine:
            try:
                await engine.mutation("notebooks:create", {"title": "Ideas"})
            except UserError as err:
                print("refused:", err.data)

            nb = await engine.mutation("notebooks:create", {"title": "Ideas"}, identity=ALICE)
            async with engine.subscribe("notes:pinned", {"notebook_id": nb}) as pinned:
                print("pinned:", await pinned.next())
                a = await engine.mutation("notes:add", {"notebook_id": nb, "body": "ship it"})
                await engine.mutation("notes:add", {"notebook_id": nb, "body": "write docs"})
                await engine.mutation("notes:pin", {"note_id": a, "pinned": True})
                print("pinned:", await pinned.next())

            total = await engine.action(
                "notes:import_many", {"notebook_id": nb, "bodies": ["x", "y"]}
            )
            print("count:", total)
            print("latest:", await engine.query("notes:latest", {"notebook_id": nb, "n": 2}))

            upvotes = [engine.mutation("notes:upvote", {"note_id": a}) for _ in range(25)]
            await asyncio.gather(*upvotes)
            print("votes:", await engine.query("notes:votes", {"note_id": a}))
            notebook = await engine.query("notebooks:get", {"notebook_id": nb})
            print("owner:", notebook["owner"])


if __name__ == "__main__":
    asyncio.run(main())
