"""The public API is exactly what api.md names, and every export is documented."""

from __future__ import annotations

import reactor

CONTRACT = {
    "Engine",
    "define_schema",
    "define_table",
    "v",
    "query",
    "mutation",
    "action",
    "internal_query",
    "internal_mutation",
    "internal_action",
    "UserError",
    "UNSET",
    "ReactorError",
    "ValidationError",
    "FunctionNotFound",
    "ConflictError",
}


def test_contract_names_are_exported() -> None:
    missing = CONTRACT - set(reactor.__all__)
    assert not missing, f"missing public names: {sorted(missing)}"
    for name in reactor.__all__:
        assert hasattr(reactor, name), name


def test_ctx_types_are_exported() -> None:
    # Apps annotate their functions with these (functions/ does); they are the classes
    # the executor builds, so isinstance and mypy agree.
    from reactor.runtime import context

    for name in ("QueryCtx", "MutationCtx", "ActionCtx"):
        assert name in reactor.__all__
        assert getattr(reactor, name) is getattr(context, name)


def test_every_export_has_a_docstring() -> None:
    for name in reactor.__all__:
        obj = getattr(reactor, name)
        if name in ("UNSET", "v"):
            continue
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_error_codes_are_stable_and_distinct() -> None:
    errors = [
        getattr(reactor, n)
        for n in reactor.__all__
        if n.endswith(("Error", "Found", "Exceeded", "Forbidden"))
    ]
    codes = {e.code for e in errors}
    assert len(codes) == len(errors)
    assert reactor.ConflictError.code == "OptimisticConcurrencyControlFailure"
    for e in errors:
        assert issubclass(e, reactor.ReactorError)
