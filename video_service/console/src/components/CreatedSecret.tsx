// What the API shows once, at creation (a push camera's publish password, an API key): shown
// here until dismissed, kept only in this component's state (never stored, never logged).
import { useEffect, useId, useRef, useState } from "react";

export interface SecretLine {
  label: string;
  value: string;
}

type CopyState = "idle" | "copied" | "refused";

interface CreatedSecretProps {
  title: string;
  lines: SecretLine[];
  onDone: () => void;
}

export function CreatedSecret({ title, lines, onDone }: CreatedSecretProps) {
  const titleId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [copy, setCopy] = useState<CopyState>("idle");
  // Focus comes here, so that a screen reader reads what to save before it is gone.
  useEffect(() => headingRef.current?.focus(), []);
  const copyAll = async () => {
    // One value: it alone (a key to paste); several: each on its own line with its name.
    const text = lines.length === 1 ? (lines[0]?.value ?? "") : lines.map((line) => `${line.label}: ${line.value}`).join("\n");
    try {
      // Undefined outside a secure context (http:// other than localhost).
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      setCopy("copied");
    } catch {
      setCopy("refused");
    }
  };
  return (
    <div className="created-secret" data-testid="created-secret" role="region" aria-labelledby={titleId}>
      <h3 id={titleId} ref={headingRef} tabIndex={-1}>
        {title}
      </h3>
      <p>
        <strong>Save it now: it will not be shown again.</strong>
      </p>
      <dl>
        {lines.map((line) => (
          <div key={line.label}>
            <dt>{line.label}</dt>
            <dd>
              <code>{line.value}</code>
            </dd>
          </div>
        ))}
      </dl>
      <p className="secret-actions">
        <button type="button" onClick={() => void copyAll()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
        <span role="status">
          {copy === "copied" && "Copied to the clipboard."}
          {copy === "refused" && "The browser refused the clipboard: select the text and copy it by hand."}
        </span>
      </p>
    </div>
  );
}
