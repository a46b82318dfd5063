"""The one way the patches change how an mlx-audio object runs: swap its class.

An instance's ``__class__`` becomes a subclass of its own class with a mixin's
methods in front. Weights, parameter names, ``isinstance`` checks in mlx-audio and
every caller stay as they were, and nothing global is monkey-patched: a model loaded
without the patches (another process, or after a patch failed) is untouched.
"""

from __future__ import annotations

_classes: dict = {}


def swap_class(instance, mixin) -> None:
    """Give instance ``mixin``'s methods in front of its own class's."""
    instance.__class__ = subclass(type(instance), mixin)


def subclass(base, mixin):
    """``base`` with ``mixin``'s methods first: still a ``base``; made once per pair."""
    if issubclass(base, mixin):
        return base
    key = (base, mixin)
    cls = _classes.get(key)
    if cls is None:
        cls = _classes[key] = type(
            mixin.__name__,
            (mixin, base),
            {"__module__": mixin.__module__, "__doc__": mixin.__doc__ or base.__doc__},
        )
    return cls
