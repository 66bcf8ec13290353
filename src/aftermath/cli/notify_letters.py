"""``aftermath notify letters | send | status | sink | mark-sent``: write every notice, deliver it once, track it."""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftermath.cli.common import console, err_console, maybe_case, open_case, write_json
from aftermath.errors import UsageError


def letters_command(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Option(help="The plan JSON from 'notify plan --json'.")],
    people: Annotated[Path, typer.Option(help="The people file the plan was made from.")],
    incident: Annotated[Path, typer.Option(help="INCIDENT.toml: what the notices tell (see the example).")],
    codes: Annotated[Path | None, typer.Option(help="Credit-monitoring enrolment codes (CSV, one per line).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: notices/ in the case).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Render the print files to PDF (WeasyPrint); "
                                                             "without, printable HTML only.")] = True,
) -> None:
    """Write one notice per affected person (the union of what their laws require), and every regulator draft.

    Post by default; email where people.csv's optional esign_consent column is true or every law covering the
    person allows email without it; substitute notice where every such law allows it on the facts (the cost
    estimate or head count over its threshold, contact details missing). With a case, every notice is stored
    in the outbox for 'notify send'.

    Example: aftermath notify letters --plan plan.json --people people.csv --incident INCIDENT.toml
    """
    from aftermath.notify.letters.run import letters

    case = maybe_case(ctx)
    if out is None and case is None:
        raise UsageError("no case here and no --out: name an output folder, or run in a case")
    target = out or (case.root / "notices")  # type: ignore[union-attr]
    result = letters(plan, people, incident, target, case, codes, dt.date.today(), pdf, progress=_progress())
    table = Table("method", "why", "people", title="Notices to individuals")
    for (channel, basis), n in sorted(result.bases.items()):
        table.add_row(channel, basis, str(n))
    console.print(table)
    console.print(f"{sum(result.methods.values())} notices and {result.drafts} regulator/bureau/media drafts "
                  f"written to {target} (why each method: methods.csv).")
    if result.not_covered:
        console.print(f"{result.not_covered} people are not owed a notice under the plan's duties.")
    console.print("Stored in the case's outbox: run 'aftermath notify send'." if case else
                  "No case here: nothing stored in an outbox (run in a case to send).")


def _progress(every: float = 5.0) -> Callable[[int, int], None]:
    """A progress line on stderr at most every ``every`` seconds (short runs print none)."""
    last = [time.monotonic()]

    def tell(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= every and done < total:
            last[0] = time.monotonic()
            err_console.print(f"{done:,} of {total:,} notices written and stored")

    return tell


def send_command(
    ctx: typer.Context,
    smtp: Annotated[str | None, typer.Option(help="The SMTP server, HOST:PORT (default: \\[notify.smtp] in "
                                                  "aftermath.toml).")] = None,
    starttls: Annotated[bool, typer.Option("--starttls", help="Upgrade the connection with STARTTLS.")] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS from the start (port 465).")] = False,
    sender: Annotated[str | None, typer.Option("--from", help="Envelope and header sender (default: the "
                                                              "incident's contact email).")] = None,
    rate: Annotated[float, typer.Option(help="At most N messages a second (0: no limit).")] = 0.0,
    backoff: Annotated[float, typer.Option(help="First retry delay in seconds after a temporary failure.")] = 5.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be sent; send nothing.")] = False,
    connections: Annotated[int, typer.Option(help="Parallel SMTP connections, each kept open; a kill may leave "
                                                  "one ambiguous message per connection (1: at most one).")] = 4,
    verp: Annotated[bool | None, typer.Option("--verp/--no-verp", help="Envelope sender LOCAL+TOKEN@DOMAIN per "
                                              "notice (VERP), so 'notify bounces' knows each bounce's notice "
                                              "(default: verp in \\[notify.smtp], else off).")] = None,
) -> None:
    """Deliver every pending email notice; safe to kill and run again (nothing sent twice but an ambiguous one).

    Login: $AFTERMATH_SMTP_USER and the file named by $AFTERMATH_SMTP_PASSWORD_FILE, or the user and
    password_file / password_env of \\[notify.smtp] in aftermath.toml (never argv, never the password itself).
    Exit 1 when some addresses failed permanently (moved to post: run 'notify letters' again to print them).

    Example: aftermath notify send --smtp 127.0.0.1:2525
    """
    from aftermath.notify.delivery import send
    from aftermath.notify.delivery.smtp import from_config

    if starttls and tls:
        raise UsageError("choose --starttls or --tls, not both")
    case = open_case(ctx)
    configured = case.config.notify.smtp if case.config.notify else None
    settings = from_config(smtp, "tls" if tls else "starttls" if starttls else None, configured, case.root)
    if verp is None:
        verp = bool(configured and configured.verp)
    report = send.run(case, settings, send.Options(sender, rate, backoff, dry_run, connections, verp))
    if dry_run:
        console.print(f"Would send {report.outcomes['would_send']} notices; nothing was sent.")
        return
    if report.recovered:
        console.print(f"{report.recovered} notices were in flight when an earlier run stopped: sent again with "
                      "their same Message-ID (a recipient may see one twice).")
    parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.outcomes.items())) or "nothing to send"
    console.print(f"Send run: {parts}.")
    for line in report.failures[:20]:
        err_console.print(f"permanent failure, moved to post: {line}")
    if report.failures:
        raise typer.Exit(1)


def status_command(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per jurisdiction and audience: notices pending, sent, bounced, moved to post, printed; days left.

    Exit 1 when a deadline was missed or falls within 3 days with notices still open.
    """
    from aftermath.notify.delivery import outbox, status

    today = dt.date.today()
    lines = status.summarise(outbox.notices(open_case(ctx)))
    data = status.to_json(lines, today)
    if json_out:
        write_json("-", data)
    else:
        table = Table("jurisdiction", "audience", "deadline", "days left", "pending", "sent", "printed", "bounced",
                      "moved to post", "flag", title="Notices")
        for d in data["duties"]:
            c = d["counts"]
            flag = {"MISSED": "[bold red]MISSED[/]", "DUE SOON": "[bold yellow]DUE SOON[/]"}.get(d["flag"], d["flag"])
            table.add_row(d["jurisdiction"], d["audience"], str(d["deadline"] or "asap"), str(d["days_left"]),
                          str(c["pending"] + c["retry"] + c["claimed"] + c["drafted"]), str(c["sent"]),
                          str(c["printed"]), str(c["bounced"]), str(c["moved_to_post"]), flag)
        console.print(table)
    if data["missed"] or data["due_soon"]:
        err_console.print(f"[bold red]{data['missed']} duties missed, {data['due_soon']} due within 3 days with "
                          "notices still open.[/]")
        raise typer.Exit(1)


def bounces_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help=".eml files, mbox files or Maildir folders.")],
) -> None:
    """Read bounces (RFC 3464 reports and other shapes); hard ones move the person to post, soft ones retry.

    Exit 1 when some bounces could not be matched to a notice (listed).
    """
    from aftermath.notify.delivery.bounces import import_bounces

    result = import_bounces(open_case(ctx), paths)
    c = result.counts
    console.print(f"Bounces: {c['hard']} hard (suppressed; run 'notify letters' again to print their letters), "
                  f"{c['soft']} soft (queued again), {len(result.unmatched)} not matched. Matched by VERP return "
                  f"path {c['by_verp']}, by quoted Message-ID {c['by_message_id']}, by recipient address "
                  f"{c['by_address']}.", highlight=False)
    for line in result.matched[:MATCHED_SHOWN]:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if len(result.matched) > MATCHED_SHOWN:
        console.print(f"... and {len(result.matched) - MATCHED_SHOWN} more (counted above).")
    for line in result.unmatched[:50]:
        err_console.print(f"not matched: {line}")
    if result.unmatched:
        raise typer.Exit(1)


MATCHED_SHOWN = 200


def mark_sent_command(
    ctx: typer.Context,
    notice: Annotated[str, typer.Argument(help="The notice id (or a unique prefix), from 'status --json'.")],
    how: Annotated[str, typer.Option(help="How it was sent: 'web form', 'email', 'post'.")],
    ref: Annotated[str, typer.Option(help="A reference: confirmation number, tracking number.")] = "",
) -> None:
    """Mark a regulator, credit-bureau or media notice as sent (journaled)."""
    from aftermath.notify.delivery import outbox

    row = outbox.mark_sent(open_case(ctx), notice, how, ref)
    console.print(f"Marked sent: {row.recipient} ({how}{', ' + ref if ref else ''}).")


def sink_command(
    port: Annotated[int, typer.Option(help="Port to listen on (loopback).")] = 2525,
    directory: Annotated[Path, typer.Option("--dir", help="Folder for received messages.")] = Path("sink"),
    reject: Annotated[list[str] | None, typer.Option(help="Refuse this address with 550 (a hard bounce).")] = None,
) -> None:
    """Run a local SMTP server that keeps every message it receives, one file each (Ctrl-C to stop)."""
    from aftermath.notify.delivery import sink

    controller = sink.start(directory, port=port, reject=reject or ())
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    console.print(f"SMTP sink listening on 127.0.0.1:{port}, storing messages in {directory}.", highlight=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def register_letters(app: typer.Typer) -> None:
    """Add letters, send, status, mark-sent and sink to ``aftermath notify``."""
    app.command("letters")(letters_command)
    app.command("send")(send_command)
    app.command("bounces")(bounces_command)
    app.command("status")(status_command)
    app.command("mark-sent")(mark_sent_command)
    app.command("sink")(sink_command)
