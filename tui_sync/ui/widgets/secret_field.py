"""A secret setting: where it lives, never its value in the TOML.

An environment variable, a file readable by its owner alone, or a value typed
here and stored in the state folder's secrets file (mode 0600).
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioSet

from ...errors import ConfigError
from .toggles import Choice

MODES = ("env", "file", "stored")


class SecretField(Vertical):
    DEFAULT_CSS = """
    SecretField { height: auto; }
    """

    def __init__(self, label: str, *, initial: dict | None = None, env_default: str = "",
                 stored_name: str = "secret", prefer: str = "env", id: str | None = None) -> None:
        super().__init__(id=id, classes="secret-field")
        self.label = label
        initial = initial if isinstance(initial, dict) else {}
        self.mode = next((m for m in MODES if m in initial), prefer)
        self.initial = initial
        self.env_default = env_default
        self.stored_name = stored_name

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-title")
        with RadioSet(classes="secret-mode"):
            yield Choice("environment variable", value=self.mode == "env", name="env")
            yield Choice("file (owner-only)", value=self.mode == "file", name="file")
            yield Choice("store it here (0600 file)", value=self.mode == "stored", name="stored")
        with Horizontal(classes="field-row"):
            yield Label("", classes="field-label secret-where-label")
            yield Input(self.initial.get(self.mode) or self._default(self.mode), compact=True, classes="secret-where")
        with Horizontal(classes="field-row secret-value-row"):
            yield Label("value", classes="field-label")
            yield Input(password=True, compact=True, placeholder="typed value is stored, never shown",
                        classes="secret-value")

    def on_mount(self) -> None:
        self._show()

    def _default(self, mode: str) -> str:
        return {"env": self.env_default, "file": "", "stored": self.stored_name}[mode]

    def _show(self) -> None:
        label = {"env": "variable", "file": "path", "stored": "name"}[self.mode]
        self.query_one(".secret-where-label", Label).update(label)
        self.query_one(".secret-value-row").display = self.mode == "stored"

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.mode = event.pressed.name or "env"
        where = self.query_one(".secret-where", Input)
        where.value = self.initial.get(self.mode) or self._default(self.mode)
        self._show()

    def value(self) -> tuple[dict[str, str], str | None]:
        """The TOML form ({env=…} / {file=…} / {stored=…}) and, for `stored`, the value to store."""
        where = self.query_one(".secret-where", Input).value.strip()
        if not where:
            what = {"env": "environment variable's name", "file": "file's path", "stored": "name to store it under"}
            raise ConfigError(f"{self.label}: give the {what[self.mode]}")
        if self.mode == "stored":
            typed = self.query_one(".secret-value", Input).value
            already = self.initial.get("stored") == where
            if not typed and not already:
                raise ConfigError(f"{self.label}: type the value to store")
            return {"stored": where}, typed or None
        return {self.mode: where}, None
