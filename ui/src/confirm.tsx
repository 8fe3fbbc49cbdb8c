/** The dashboard's one confirmation for destructive actions: a modal dialog, Cancel focused, Delete does it. */
import type { ComponentChildren, RefObject } from "preact";

export function ConfirmDelete({
  dialogRef,
  label,
  onDelete,
  onClose,
  children,
}: {
  dialogRef: RefObject<HTMLDialogElement>;
  label: string;
  onDelete: () => void;
  onClose?: () => void;
  children: ComponentChildren;
}) {
  return (
    <dialog ref={dialogRef} class="confirm" aria-label={label} onClose={onClose}>
      <form method="dialog">
        <p>{children}</p>
        <div class="actions">
          <button value="cancel" autofocus>
            Cancel
          </button>
          <button
            value="delete"
            class="danger"
            onClick={(e) => {
              e.preventDefault();
              dialogRef.current?.close();
              onDelete();
            }}
          >
            Delete
          </button>
        </div>
      </form>
    </dialog>
  );
}
