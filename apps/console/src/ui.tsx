import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { ApiError } from './api';
import { watchChanges } from './live';

function messageOf(error: unknown, fieldLabels?: Record<string, string>): string {
  if (error instanceof ApiError) return error.describe(fieldLabels);
  if (error instanceof Error) return `Something went wrong in the console: ${error.message}`;
  return String(error);
}

interface Resource<T> {
  data: T | undefined;
  error: unknown;
  reload: () => Promise<void>;
}

/** Loads on mount and when `key` changes; with `live`, again whenever watchChanges says so. */
export function useResource<T>(load: () => Promise<T>, key: string, live = false): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const call = ++latest.current;
    try {
      const value = await loadRef.current();
      if (call !== latest.current) return;
      setData(value);
      setError(null);
    } catch (caught) {
      if (call === latest.current) setError(caught);
    }
  }, []);

  useEffect(() => {
    setData(undefined);
    setError(null);
    void reload();
    return live ? watchChanges(() => void reload()) : undefined;
  }, [key, live, reload]);

  return { data, error, reload };
}

export function ErrorBox({ error, fieldLabels }: { error: unknown; fieldLabels?: Record<string, string> }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {messageOf(error, fieldLabels)
        .split('\n')
        .map((line) => (
          <p key={line}>{line}</p>
        ))}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-busy="true">Loading {what}…</p>;
}

/** What a page does after one of its actions succeeded, with the message to announce. */
export type Done = (message: string | null) => void;

/**
 * A form that runs one API action: the button is disabled while it runs, an error is shown where
 * the person acted, and a success message is announced: here, or by the page when `announceHere`
 * is false (for forms that the success removes, such as submit or decide).
 */
export function ActionForm({
  label,
  run,
  done,
  children,
  danger = false,
  disabled = false,
  announceHere = true,
  fieldLabels,
}: {
  label: string;
  run: () => Promise<string | void>;
  done?: Done;
  children?: ComponentChildren;
  danger?: boolean;
  disabled?: boolean;
  announceHere?: boolean;
  fieldLabels?: Record<string, string>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const message = (await run()) || null;
      if (announceHere) setNotice(message);
      done?.(message);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="action" onSubmit={(event) => void onSubmit(event)}>
      {children}
      <button type="submit" class={danger ? 'danger' : undefined} disabled={busy || disabled}>
        {label}
      </button>
      <ErrorBox error={error} fieldLabels={fieldLabels} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </form>
  );
}

interface InputProps {
  id: string;
  value: string;
  required: boolean;
  maxLength?: number;
  'aria-describedby'?: string;
  onInput: (event: Event) => void;
}

/** Preact types each kind of input apart, so each kind is written out. */
function Input({ type, ...props }: InputProps & { type: 'text' | 'email' | 'number' | 'datetime-local' }) {
  switch (type) {
    case 'email':
      return <input type="email" {...props} />;
    case 'number':
      return <input type="number" step="any" {...props} />;
    case 'datetime-local':
      return <input type="datetime-local" {...props} />;
    default:
      return <input type="text" {...props} />;
  }
}

let fieldCounter = 0;

function useFieldId(): string {
  const [id] = useState(() => `field-${++fieldCounter}`);
  return id;
}

export function TextField({
  label,
  value,
  onInput,
  required = false,
  multiline = false,
  rows = 4,
  maxLength,
  type = 'text',
  hint,
}: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  required?: boolean;
  multiline?: boolean;
  rows?: number;
  maxLength?: number;
  type?: 'text' | 'email' | 'number' | 'datetime-local';
  hint?: string;
}) {
  const id = useFieldId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>
        {label}
        {required ? '' : ' (optional)'}
      </label>
      {hint && (
        <small id={hintId} class="hint">
          {hint}
        </small>
      )}
      {multiline ? (
        <textarea
          id={id}
          rows={rows}
          value={value}
          required={required}
          maxLength={maxLength}
          aria-describedby={hintId}
          onInput={(event) => onInput(event.currentTarget.value)}
        />
      ) : (
        <Input
          type={type}
          id={id}
          value={value}
          required={required}
          maxLength={maxLength}
          aria-describedby={hintId}
          onInput={(event: Event) => onInput((event.currentTarget as HTMLInputElement).value)}
        />
      )}
    </div>
  );
}

export function SelectField<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: { value: T; label: string }[];
  onChange: (value: T) => void;
}) {
  const id = useFieldId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value as T)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The page's own live region for the outcome of actions whose form the outcome removes. */
export function PageNotice({ message }: { message: string | null }) {
  return (
    <p class="notice" role="status">
      {message ?? ''}
    </p>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}
