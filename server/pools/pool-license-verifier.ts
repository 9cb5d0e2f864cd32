/** What the pool service needs to know of a verified pool license (vendor-signed JWS). */
export interface VerifiedPoolLicense {
  readonly licenseRef: string;
  readonly issuer: string;
  readonly kid: string;
  readonly customer: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly points: { readonly tags: number; readonly connections: number };
  readonly plugins: readonly string[];
}

/** Verifies a license document against the trusted issuer keys; throws AppError('license-invalid'). */
export interface PoolLicenseVerifier {
  verify(document: string): Promise<VerifiedPoolLicense>;
}
