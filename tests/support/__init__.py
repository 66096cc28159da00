"""Helpers shared by the test suite (not tests themselves), imported as ``tests.support.*``.

`tests/` is a package (every test folder has an ``__init__.py``), so pytest's default
"prepend" import mode puts the repository root on ``sys.path`` and every test module,
conftest and helper has one dotted name; nothing edits ``sys.path`` by hand.

- ``projects``: paths of the test projects (``CHAT``, ``PROJECTS``, ``ROOT``);
- ``server``: ``server_config()``, ``running_server()`` over :mod:`reactor.testing`,
  ``ThreadedServer`` for synchronous tests;
- ``tokens``: HS256 and RS256 tokens matching ``server_config()``;
- ``sync_client``: ``SyncClient`` (the sync protocol over ``websockets``) and
  ``RawClient`` (a WebSocket client that reads only when told to);
- ``cli``: run the CLI in a child process, edit project files;
- ``net``: free ports, waiting for a port to listen;
- ``waiting``: ``eventually()`` (poll until true) and ``no_update()`` (a subscription stays quiet);
- ``strategies``: Hypothesis strategies of the data-structure property tests;
- ``postgres``: throwaway PostgreSQL servers and their fixtures;
- ``fake_openai``: a loopback OpenAI server.
"""
