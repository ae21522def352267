// The page's small building blocks. Every string from the API is rendered as text (Preact sets
// textContent and attributes, never markup): a hostile title or URL shows as what it is.
import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

interface FieldProps {
  id: string
  label: string
  hint?: string
  error?: string | undefined
  children: (describedBy: string | undefined, invalid: boolean) => ComponentChildren
}

/** A labelled control with its hint and its error, both announced with it. */
export function Field ({ id, label, hint, error, children }: FieldProps): JSX.Element {
  const described = [hint !== undefined ? `${id}-hint` : '', `${id}-error`].filter((s) => s !== '').join(' ')
  return (
    <div class='field'>
      <label for={id}>{label}</label>
      {children(described, error !== undefined && error !== '')}
      {hint !== undefined && <p id={`${id}-hint`} class='hint'>{hint}</p>}
      <p id={`${id}-error`} class='error' aria-live='polite'>{error ?? ''}</p>
    </div>
  )
}

/** A message announced to screen readers as it appears: a status, or an error (role=alert). */
export function Notice ({ kind = 'status', children, id }: { kind?: 'status' | 'error', children?: ComponentChildren, id?: string }): JSX.Element {
  return kind === 'error'
    ? <p id={id} class='error notice' role='alert'>{children}</p>
    : <p id={id} class='status' role='status'>{children}</p>
}

export function CopyButton ({ text, label = 'Copy link', id }: { text: string, label?: string, id?: string }): JSX.Element {
  const [said, setSaid] = useState('')
  async function copy (): Promise<void> {
    try {
      await navigator.clipboard.writeText(text)
      setSaid('Copied.')
    } catch {
      // No clipboard API (plain http other than localhost) or no permission: copy a selection.
      setSaid(copySelected(text) ? 'Copied.' : `Copy it by hand: ${text}`)
    }
  }
  return (
    <span class='copy'>
      <button type='button' class='secondary' id={id} onClick={() => { copy().catch(() => {}) }}>{label}</button>
      <span role='status' class='copy-status'>{said}</span>
    </span>
  )
}

function copySelected (text: string): boolean {
  const area = document.createElement('textarea')
  area.value = text
  area.readOnly = true
  area.className = 'visually-hidden'
  document.body.append(area)
  area.select()
  const copied = document.execCommand('copy')
  area.remove()
  return copied
}

interface ConfirmProps {
  open: boolean
  title: string
  children: ComponentChildren
  confirm: string
  onConfirm: () => void
  onCancel: () => void
}

/** A modal question (the native <dialog>: focus stays inside it, Escape cancels). */
export function Confirm ({ open, title, children, confirm, onConfirm, onCancel }: ConfirmProps): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (dialog === null) return
    if (open && !dialog.open) dialog.showModal()
    if (!open && dialog.open) dialog.close()
  }, [open])
  return (
    <dialog ref={ref} aria-labelledby='confirm-title' onCancel={(e) => { e.preventDefault(); onCancel() }}>
      <h2 id='confirm-title'>{title}</h2>
      {children}
      <p class='actions'>
        <button type='button' class='danger' onClick={onConfirm}>{confirm}</button>
        <button type='button' class='secondary' onClick={onCancel} autofocus>Cancel</button>
      </p>
    </dialog>
  )
}

/** Saves a blob as a file, as a download link would. */
export function saveBlob (blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function when (iso: string | null | undefined): string {
  return iso == null ? '—' : new Date(iso).toLocaleString()
}

export const count = (n: number): string => n.toLocaleString('en')
