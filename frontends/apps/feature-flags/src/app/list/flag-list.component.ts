import { ChangeDetectionStrategy, Component, DestroyRef, OnInit, inject, signal } from '@angular/core';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import { RUNTIME_CONFIG } from '@billpay/shared';
import { EnvironmentInfo, FlagConsoleService, FlagDoc } from '../flag-console.service';

function describe(f: FlagDoc): { description: string; defaultVariant: string; targeted: boolean; enabled: boolean } {
  const d = (f.definition ?? {}) as Record<string, unknown>;
  const meta = (d['metadata'] ?? {}) as Record<string, unknown>;
  const t = d['targeting'];
  return {
    description: typeof meta['description'] === 'string' ? meta['description'] : '',
    defaultVariant: typeof d['defaultVariant'] === 'string' ? d['defaultVariant'] : '(code default)',
    targeted: typeof t === 'object' && t !== null && Object.keys(t).length > 0,
    enabled: d['state'] !== 'DISABLED',
  };
}

/** Every flag of one environment with an on/off switch; follows Portal's change feed so edits made elsewhere show
 * up at once. */
@Component({
  selector: 'bp-flag-list',
  standalone: true,
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Feature flags</h1>
    <div class="toolbar">
      <label>Environment
        <select data-testid="flag-env" (change)="pickEnvironment($event)">
          @for (e of environments(); track e.name) {
            <option [value]="e.name" [selected]="e.name === env()">{{ e.name }}{{ e.protected ? ' (protected)' : '' }}</option>
          }
        </select>
      </label>
      <a [routerLink]="['audit', env()]" data-testid="audit-link">Audit log</a>
    </div>
    @if (error()) { <p class="bp-error" role="alert" data-testid="console-error">{{ error() }}</p> }
    <table class="bp-table" data-testid="flag-list">
      <thead><tr><th>Flag</th><th>On</th><th>Default</th><th>Owner</th><th>Revision</th><th></th></tr></thead>
      <tbody>
        @for (f of flags(); track f.key) {
          <tr [attr.data-testid]="'flag-' + f.key">
            <td><strong>{{ f.key }}</strong>
              @if (info(f).targeted) { <span class="bp-pill">targeted</span> }
              <div class="bp-muted">{{ info(f).description }}</div></td>
            <td><input type="checkbox" role="switch" [checked]="info(f).enabled" [disabled]="busy() === f.key"
                       [attr.aria-label]="'Enable ' + f.key" [attr.data-testid]="'toggle-' + f.key" (change)="toggle(f, $event)" /></td>
            <td>{{ info(f).defaultVariant }}</td>
            <td>{{ f.owner }}</td>
            <td>{{ f.revision }}</td>
            <td><a [routerLink]="['edit', f.environment, f.key]" [attr.data-testid]="'edit-' + f.key">Edit</a></td>
          </tr>
        } @empty {
          <tr><td colspan="6" class="bp-muted">{{ loading() ? 'Loading…' : 'No flags in this environment.' }}</td></tr>
        }
      </tbody>
    </table>
  `,
  styles: [`.toolbar { display: flex; gap: 24px; align-items: center; margin-bottom: 16px; }`],
})
export class FlagListComponent implements OnInit {
  private readonly api = inject(FlagConsoleService);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private stopWatching: () => void = () => undefined;
  readonly environments = signal<EnvironmentInfo[]>([]);
  readonly env = signal<string>(inject(RUNTIME_CONFIG).environment);
  readonly flags = signal<FlagDoc[]>([]);
  readonly loading = signal(true);
  readonly busy = signal<string | null>(null);
  readonly error = signal('');
  readonly info = describe;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.stopWatching());
  }

  async ngOnInit(): Promise<void> {
    const wanted = this.route.snapshot.queryParamMap.get('env');
    if (wanted) {
      this.env.set(wanted);
    }
    try {
      this.environments.set(await this.api.environments());
    } catch (e) {
      this.error.set(e instanceof Error ? e.message : String(e));
    }
    await this.open(this.env());
  }

  pickEnvironment(e: Event): void {
    const name = (e.target as HTMLSelectElement).value;
    void this.router.navigate([], { relativeTo: this.route, queryParams: { env: name } });
    void this.open(name);
  }

  async toggle(f: FlagDoc, e: Event): Promise<void> {
    const on = (e.target as HTMLInputElement).checked;
    this.busy.set(f.key);
    try {
      const updated = await this.api.setEnabled(f, on);
      this.flags.update((list) => list.map((x) => (x.key === updated.key ? updated : x)));
      this.error.set('');
    } catch (err) {
      (e.target as HTMLInputElement).checked = !on;
      this.error.set(err instanceof Error ? err.message : String(err));
    } finally {
      this.busy.set(null);
    }
  }

  private async open(env: string): Promise<void> {
    this.env.set(env);
    this.stopWatching();
    this.stopWatching = this.api.watch(env, () => void this.reload());
    await this.reload();
  }

  private async reload(): Promise<void> {
    this.loading.set(true);
    try {
      this.flags.set(await this.api.list(this.env()));
      this.error.set('');
    } catch (e) {
      this.error.set(e instanceof Error ? e.message : String(e));
    } finally {
      this.loading.set(false);
    }
  }
}
