import type { LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import type { LeaseSigner } from '../../../server/leases/lease-service.js';

/**
 * Wraps a real signer so a test can stop a grant in the middle of its transaction: the grant has
 * locked its gateway row and waits in signWithKid until the test opens the gate.
 */
export class GatedSigner implements LeaseSigner {
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private reached: (() => void) | undefined;
  private reachedPromise: Promise<void> | undefined;

  constructor(private readonly inner: LeaseSigner) {}

  /** The next signing stops until open(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    this.reachedPromise = new Promise((resolve) => (this.reached = resolve));
  }

  /** Resolves once a grant is stopped at the gate. */
  async held(): Promise<void> {
    await this.reachedPromise;
  }

  open(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async signWithKid(claims: LeaseClaims): Promise<{ jws: string; kid: string }> {
    const gate = this.gate;
    if (gate) {
      this.reached?.();
      await gate;
    }
    return this.inner.signWithKid(claims);
  }
}
