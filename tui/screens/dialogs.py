"""Small modal dialogs shared by the panels: confirm, ask for a line of text, pick one of a
list, and show a freshly issued token secret exactly once.

Dialogs collect an answer and ``dismiss`` with it; the panel that opened them runs the use
case. The one exception is ``PromptDialog`` given a ``submit`` call by its panel: it runs
that call in a thread worker so that a refusal (a duplicate token name) shows inline and
what was typed stays. Each dialog has its own footer, so the keys shown are its own. Text
from the store or the operator is shown as plain text (never parsed as markup) and
terminal-safe (``store.domain.display``): callers pass raw text, the dialog sanitises it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static, TextArea

from store.domain.display import safe_multiline, safe_text
from store.errors import StoreError
from tui.calls import error_kind
from tui.context import TuiContext

log = logging.getLogger(__name__)
T = TypeVar("T")


def _buttons(*buttons: Button) -> Horizontal:
    return Horizontal(*buttons, classes="dialog-buttons")


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question naming exactly what will happen; ``y`` confirms, Escape answers no."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Confirm"),
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
                Button("Cancel (Esc)", id="cancel", compact=True),
                Button(f"{self.confirm_label} (y)", id="confirm", variant="error", compact=True),
            )
        yield Footer()

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


@dataclass
class SubmitRefused(Message):
    """The panel's ``submit`` call refused what was typed (shown inline)."""

    kind: str
    detail: str


@dataclass
class SubmitAccepted(Message):
    result: Any = field(repr=False)  # may be a token secret: never printed


class PromptDialog(ModalScreen[T | None], Generic[T]):
    """Ask for one line of text (a token's name, a reason); empty is refused. Without
    ``submit`` it answers the text; with it, it answers what ``submit(text)`` returns and
    shows a store refusal inline, keeping the text for the operator to correct.

    ``choices`` adds a pick list under the text box (a token's connection, a connection's
    kind): ``(label, value)`` pairs, ``choice`` the value picked first. The value picked is
    ``self.choice`` when ``submit`` runs."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "noop", "Confirm")]

    def __init__(
        self,
        title: str,
        prompt: str,
        placeholder: str = "",
        confirm_label: str = "OK",
        submit: Callable[[str], T] | None = None,
        ctx: TuiContext | None = None,
        empty_message: str = "Enter a name first.",
        choices: Sequence[tuple[str, str]] = (),
        choice: str = "",
        choice_prompt: str = "",
    ) -> None:
        super().__init__()
        self.choices = tuple(choices)
        self.choice = choice if choice in {v for _, v in self.choices} else ""
        if self.choices and not self.choice:
            self.choice = self.choices[0][1]
        self.choice_prompt = choice_prompt
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder
        self.confirm_label = confirm_label
        self.submit = submit
        self.ctx = ctx
        self.empty_message = empty_message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.title_text)), classes="dialog-title")
            yield Static(Text(safe_multiline(self.prompt)), classes="dialog-body")
            yield Input(placeholder=self.placeholder, id="answer", max_length=256)
            if self.choices:
                options = [(Text(safe_text(label)), value) for label, value in self.choices]
                yield Select(
                    options,
                    value=self.choice,
                    allow_blank=False,
                    prompt=self.choice_prompt,
                    id="choice",
                    compact=True,
                )
            yield Static("", id="problem", classes="dialog-problem")
            yield _buttons(
                Button("Cancel (Esc)", id="cancel", compact=True),
                Button(
                    f"{self.confirm_label} (Enter)", id="confirm", variant="primary", compact=True
                ),
            )
        yield Footer()

    def action_noop(self) -> None:
        """Shown in the footer: Enter in the box submits (the Input handles it)."""
        self._submit()

    @on(Select.Changed, "#choice")
    def _chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.choice = event.value

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _submit(self) -> None:
        value = self.query_one("#answer", Input).value.strip()
        if not value:
            self._problem(self.empty_message)
            return
        if self.submit is None:
            self.dismiss(cast(T, value))
            return
        if self.query_one("#confirm", Button).disabled:
            return  # the first submission is still running: never issue twice
        self.query_one("#confirm", Button).disabled = True
        self._problem("Working…")
        self._run_submit(value)

    @work(thread=True, exclusive=True, group="prompt-submit")
    def _run_submit(self, value: str) -> None:
        assert self.submit is not None
        try:
            result = self.submit(value)
        except StoreError as exc:
            self.post_message(SubmitRefused(error_kind(exc), exc.message))
        except Exception as exc:  # a bug must not kill the operator's session
            log.exception("%s failed", safe_text(self.title_text))  # may name a user
            self.post_message(SubmitRefused("Unexpected error", type(exc).__name__))
        else:
            self.post_message(SubmitAccepted(result))
        finally:
            if self.ctx is not None:
                self.ctx.release_connection()

    def on_submit_refused(self, message: SubmitRefused) -> None:
        self.query_one("#confirm", Button).disabled = False
        self._problem(f"{message.kind}: {message.detail}")
        self.query_one("#answer", Input).focus()

    def on_submit_accepted(self, message: SubmitAccepted) -> None:
        result, message.result = message.result, None
        self.dismiss(cast(T, result))

    def _problem(self, text: str) -> None:
        self.query_one("#problem", Static).update(Text(safe_multiline(text)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one item of a short list (a role to grant or revoke)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "noop", "Choose")]

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
            yield _buttons(Button("Cancel (Esc)", id="cancel", compact=True))
        yield Footer()

    def action_noop(self) -> None:
        """Shown in the footer: Enter on an option chooses it (the list handles it)."""

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SecretDialog(ModalScreen[None]):
    """Show a new token's secret once. ``c`` copies it (OSC 52); where the terminal ignores
    that, the secret sits in a read-only text box to select by hand. Only the explicit
    "I have stored it" closes the dialog (Escape does not). After it closes nothing in the
    app holds the secret: the widgets go with the screen and the app's own clipboard copy
    is cleared (the terminal's clipboard, set through OSC 52, keeps it for pasting)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("c", "copy", "Copy token"),
        Binding("escape,q", "refuse_close", "Close?", show=False),
        Binding("s", "close", "I have stored it"),
    ]
    WARNING = (
        "This token will not be shown again. Copy it now and store it in your IdP's "
        "SCIM settings or a password manager. If you lose it, revoke it and generate a new one."
    )
    HINT = (
        "No clipboard over SSH? Select the token above with Shift+drag (or click into it and "
        "use shift+arrows) and copy it with your terminal."
    )

    def __init__(self, token_name: str, secret: str, note: str = "") -> None:
        super().__init__()
        self.token_name = token_name
        self._secret = secret
        self.note = note  # e.g. the connection, and the old token a rotation keeps

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog secret-dialog"):
            title = f"SCIM token “{safe_text(self.token_name)}” generated"
            yield Label(Text(title), classes="dialog-title")
            if self.note:
                yield Static(Text(safe_multiline(self.note)), id="secret-note")
            yield Static(Text(self.WARNING), classes="dialog-warning")
            yield TextArea(
                self._secret,
                id="secret",
                classes="secret",
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
                compact=True,
            )
            yield Static(Text(self.HINT), classes="dialog-hint")
            yield _buttons(
                Button("Copy (c)", id="copy", variant="primary", compact=True),
                Button("I have stored it (s)", id="done", compact=True),
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._secret)
        self.notify("Token copied to the clipboard (if your terminal allows OSC 52).")

    def action_refuse_close(self) -> None:
        self.notify(
            "The token is shown only now. Store it, then choose “I have stored it”.",
            severity="warning",
        )

    @on(Button.Pressed, "#done")
    def action_close(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        # App.copy_to_clipboard keeps a copy for in-app paste; drop it with the dialog.
        if self.app.clipboard == self._secret:
            self.app._clipboard = ""
        self._secret = ""
