"""``cumulo api``: the command-line client of the CloudStack API (cloudmonkey's spirit).

``cli`` is the click group; ``transport`` talks HTTP (signed calls, sessions, job
polling), ``signer`` signs as 4.1 verifies, ``config`` stores settings and credentials,
``cache`` keeps ``listApis`` for completion, ``output`` prints tables and JSON.
"""
