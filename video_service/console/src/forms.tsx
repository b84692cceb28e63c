// Forms' refusals where they belong: each problem the API locates at a field next to that
// field (role="alert", tied to its input by aria-describedby), the rest at the top of the
// form. Every input has a visible label (<Field>).
import { useId, type FormEvent, type ReactNode } from "react";
import { isApiError } from "./api";

export interface FormProblems {
  /** refusals of the form as a whole, or of a field it does not show */
  top: string[];
  /** by the form's field names */
  fields: Record<string, string>;
}

/**
 * `error` (a mutation's) sorted for a form whose inputs are `fields` (the API's names for
 * them); `aliases` maps another name the API may give to one of them (an export's `end` to
 * the field that sets it). `local`: the form's own checks, by field, shown the same way.
 */
export function problemsOf(
  error: unknown,
  fields: readonly string[],
  options: { aliases?: Record<string, string>; local?: Record<string, string | undefined> } = {},
): FormProblems {
  const found: FormProblems = { top: [], fields: {} };
  for (const [field, message] of Object.entries(options.local ?? {})) {
    if (!message) continue;
    if (fields.includes(field)) found.fields[field] = message;
    else found.top.push(message);
  }
  if (!error) return found;
  const problems = isApiError(error)
    ? error.problems
    : [{ field: null, message: error instanceof Error ? error.message : String(error) }];
  for (const problem of problems) {
    const field = problem.field ? (options.aliases?.[problem.field] ?? problem.field) : null;
    if (field && fields.includes(field)) {
      const earlier = found.fields[field];
      found.fields[field] = earlier ? `${earlier}; ${problem.message}` : problem.message;
    } else {
      found.top.push(problem.field ? `${problem.field}: ${problem.message}` : problem.message);
    }
  }
  return found;
}

/** What a control needs to be tied to its label, its hint and its refusal. */
export interface ControlProps {
  id: string;
  "aria-invalid"?: true;
  "aria-describedby"?: string;
}

interface FieldProps {
  label: string;
  error?: string | undefined;
  hint?: string;
  className?: string;
  children: (control: ControlProps) => ReactNode;
}

/** A labelled control, its hint and its refusal. */
export function Field({ label, error, hint, className, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ");
  return (
    <div className={className ? `field ${className}` : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy || undefined })}
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="field-error error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The refusals at the top of a form (`id`: for the form's aria-describedby). */
export function FormAlert({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div id={id} className="form-alert error" role="alert">
      {messages.map((message, index) => (
        <p key={index}>{message}</p>
      ))}
    </div>
  );
}

interface FormWithAlertProps {
  /** the form's accessible name: "Add a site" */
  label: string;
  className: string;
  /** the refusals of the form as a whole (FormProblems.top) */
  messages: string[];
  /** instead of the browser's submission */
  onSubmit: () => void;
  children: ReactNode;
}

/**
 * A form with its refusals at the top: they are part of its description (aria-describedby),
 * so that a screen reader reads them with the form.
 */
export function FormWithAlert({ label, className, messages, onSubmit, children }: FormWithAlertProps) {
  const alertId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form className={className} onSubmit={submit} aria-label={label} aria-describedby={messages.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={messages} />
      {children}
    </form>
  );
}
