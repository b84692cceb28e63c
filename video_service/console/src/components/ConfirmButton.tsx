// A destructive action in two steps: the button asks, and only "Confirm …" does it. The
// question takes the focus, so that the keyboard is where the answer is.
import { useState } from "react";

interface ConfirmButtonProps {
  /** the button's text: "Delete", "Revoke" */
  label: string;
  /** what it acts on, for its accessible name: `site "HQ"` */
  what: string;
  question: string;
  pending: boolean;
  onConfirm: () => void;
}

export function ConfirmButton({ label, what, question, pending, onConfirm }: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="danger" aria-label={`${label} ${what}`} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={`${label} ${what}?`}>
      <span>{question}</span>{" "}
      <button type="button" className="danger" autoFocus disabled={pending} onClick={onConfirm}>
        {pending ? "Working…" : `Confirm ${label.toLowerCase()}`}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)} disabled={pending}>
        Cancel
      </button>
    </span>
  );
}
