import { num, date } from '../../format.js';

interface LicenseClaims {
  customer?: string;
  exp?: number;
  points?: { tags?: number; connections?: number };
  plugins?: string[];
}

/** Reads the license's claims for a preview; the controller verifies the signature on upload. */
function peek(text: string): LicenseClaims | undefined {
  const part = text.trim().split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as LicenseClaims;
  } catch {
    return undefined;
  }
}

/** Paste a license or pick its file; shows what it grants before anything is sent. */
export function LicenseInput({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const claims = value.trim() ? peek(value) : undefined;
  const onFile = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file) onChange((await file.text()).trim());
  };
  return (
    <div class="license-input">
      <textarea
        name="license"
        rows={5}
        spellcheck={false}
        placeholder="Paste the license (eyJhbGciOi…) or choose its file below"
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
      <div class="license-input-row">
        <label class="file-pick">
          <input type="file" name="license-file" accept=".jwt,.jws,.txt,.lic,text/plain" onChange={(e) => void onFile(e)} />
          <span class="button">Choose file…</span>
        </label>
        {claims ? (
          <span class="license-preview" data-license-preview>
            {claims.customer ?? 'unknown customer'} · {num(claims.points?.tags ?? 0)} tags · {num(claims.points?.connections ?? 0)} connections
            {claims.plugins?.length ? ` · ${claims.plugins.join(', ')}` : ''} · until {claims.exp ? date(new Date(claims.exp * 1000).toISOString()) : '?'}
          </span>
        ) : value.trim() ? (
          <span class="license-preview bad">This does not look like a license document.</span>
        ) : null}
      </div>
    </div>
  );
}
