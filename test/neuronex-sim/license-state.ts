import type { LicenseTerms } from './license-terms.js';
import type { PluginInfo } from './plugins.js';

/**
 * The gateway's license: a base license (the free allowance, or one uploaded locally) and an
 * optional ECP-delivered virtual/floating license that takes precedence while present.
 */
export class LicenseState {
  private base: LicenseTerms;
  private virtual: LicenseTerms | undefined;

  constructor(
    base: LicenseTerms,
    readonly hardwareToken: string,
    private readonly clock: () => Date,
  ) {
    this.base = base;
  }

  now(): Date {
    return this.clock();
  }

  effective(): LicenseTerms {
    return this.virtual ?? this.base;
  }

  isFloating(): boolean {
    return this.virtual !== undefined;
  }

  isExpired(): boolean {
    return this.clock().getTime() > this.effective().expiredDate.getTime();
  }

  /** Active: started and not expired. */
  isValid(): boolean {
    const now = this.clock().getTime();
    const terms = this.effective();
    return now >= terms.startDate.getTime() && now <= terms.expiredDate.getTime();
  }

  maxTags(): number {
    return this.effective().maxTags;
  }

  maxNodes(): number {
    return this.effective().maxNodes;
  }

  pluginEnabled(plugin: PluginInfo): boolean {
    return !plugin.commercial || this.effective().enabledPlugins.includes(plugin.name);
  }

  /** A locally installed license (upload); the virtual license, if any, stays in force. */
  setBase(terms: LicenseTerms): void {
    this.base = { ...terms, enabledPlugins: [...terms.enabledPlugins] };
  }

  /** An ECP-delivered allocation (`/api/license/tag`, `/api/license/floating`). */
  setVirtual(terms: LicenseTerms): void {
    this.virtual = { ...terms, type: 'VIRTUAL', enabledPlugins: [...terms.enabledPlugins] };
  }

  clearVirtual(): void {
    this.virtual = undefined;
  }
}
