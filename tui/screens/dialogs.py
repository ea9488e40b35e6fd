"""Small modal dialogs shared by the panels: confirm, ask for a name, pick one of a list,
and show a freshly issued token secret exactly once.

Dialogs only collect an answer and ``dismiss`` with it; the panel that opened them runs the
use case. They never call the store. Text from the store or the operator is shown as plain
text (never parsed as markup) and terminal-safe (``store.domain.display``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static

from store.domain.display import safe_multiline, safe_text


def _buttons(*buttons: Button) -> Horizontal:
    return Horizontal(*buttons, classes="dialog-buttons")


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question naming exactly what will happen; Escape answers no."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, title: str, question: str, confirm_label: str = "Confirm") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.title_text)), classes="dialog-title")
            yield Static(Text(safe_multiline(self.question)), classes="dialog-body")
            yield _buttons(
                Button("Cancel", id="cancel", compact=True),
                Button(self.confirm_label, id="confirm", variant="error", compact=True),
            )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text (e.g. a token's descriptive name); empty is refused."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, prompt: str, placeholder: str = "", confirm_label: str = "OK"
    ) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.title_text)), classes="dialog-title")
            yield Static(Text(safe_multiline(self.prompt)), classes="dialog-body")
            yield Input(placeholder=self.placeholder, id="answer", max_length=256)
            yield Static("", id="problem", classes="dialog-problem")
            yield _buttons(
                Button("Cancel", id="cancel", compact=True),
                Button(self.confirm_label, id="confirm", variant="primary", compact=True),
            )

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _submit(self) -> None:
        value = self.query_one("#answer", Input).value.strip()
        if not value:
            self.query_one("#problem", Static).update("Enter a name first.")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one item of a short list (a role to grant or revoke)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, choices: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.title_text)), classes="dialog-title")
            yield Static(Text(safe_multiline(self.prompt)), classes="dialog-body")
            yield OptionList(*[Text(safe_text(c)) for c in self.choices], id="choices")
            yield _buttons(Button("Cancel", id="cancel", compact=True))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SecretDialog(ModalScreen[None]):
    """Show a new token's secret once, with a copy action. After it closes nothing in the
    app holds the secret: the widgets go with the screen and the app's own clipboard
    copy is cleared (the terminal's clipboard, set through OSC 52, keeps it for pasting)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("c", "copy", "Copy token"),
        Binding("escape", "close", "Done"),
    ]
    WARNING = (
        "This token will not be shown again. Copy it now and store it in your IdP's "
        "SCIM settings or a password manager. If you lose it, revoke it and generate a new one."
    )

    def __init__(self, token_name: str, secret: str) -> None:
        super().__init__()
        self.token_name = token_name
        self._secret = secret

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog secret-dialog"):
            title = f"SCIM token “{safe_text(self.token_name)}” generated"
            yield Label(Text(title), classes="dialog-title")
            yield Static(Text(self.WARNING), classes="dialog-warning")
            yield Static(Text(self._secret), id="secret", classes="secret")
            yield _buttons(
                Button("Copy", id="copy", variant="primary", compact=True),
                Button("Done", id="done", compact=True),
            )

    def on_mount(self) -> None:
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._secret)
        self.notify("Token copied to the clipboard (if your terminal allows OSC 52).")

    @on(Button.Pressed, "#done")
    def action_close(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        # App.copy_to_clipboard keeps a copy for in-app paste; drop it with the dialog.
        if self.app.clipboard == self._secret:
            self.app._clipboard = ""
        self._secret = ""
