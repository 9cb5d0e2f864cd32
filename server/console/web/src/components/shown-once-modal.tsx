import type { ComponentChildren } from 'preact';
import { CopyButton } from './bits.js';
import { Modal } from './modal.js';

/**
 * The one showing of a secret the controller keeps only a hash of (an API token, an activation
 * code): closing asks first, since it cannot be shown again. `marker` is the data attribute the
 * secret's element carries for the end-to-end tests.
 */
export function ShownOnceModal(props: {
  title: string;
  /** What the secret is called in the discard question: "token", "code". */
  noun: string;
  secret: string;
  marker: 'data-token-secret' | 'data-code';
  /** Said before "It is shown only this once". */
  lead?: string;
  onClose: () => void;
  children?: ComponentChildren;
}) {
  const marked: Record<string, true> = { [props.marker]: true };
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      confirmDiscard={`Close without the ${props.noun}? It is shown only once and cannot be shown again.`}
      footer={
        <button type="button" class="button primary" onClick={props.onClose}>
          Done, I have copied it
        </button>
      }
    >
      <p>
        {props.lead}
        <strong>It is shown only this once</strong>; the controller keeps only a hash of it.
      </p>
      <div class="secret">
        <code {...marked}>{props.secret}</code>
        <CopyButton text={props.secret} />
      </div>
      {props.children}
    </Modal>
  );
}
