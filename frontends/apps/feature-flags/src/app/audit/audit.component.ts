import { ChangeDetectionStrategy, Component, Input, OnInit, inject, signal } from '@angular/core';
import { JsonPipe } from '@angular/common';
import { RouterLink } from '@angular/router';
import { AuditEntry, FlagConsoleService } from '../flag-console.service';

/** An environment's audit log: who changed which flag, when, and the definition before and after. */
@Component({
  selector: 'bp-audit',
  standalone: true,
  imports: [RouterLink, JsonPipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <p><a routerLink="../.." [queryParams]="{ env }">← All flags</a></p>
    <h1>Audit log <span class="bp-muted">{{ env }}</span></h1>
    @if (error()) { <p class="bp-error" role="alert">{{ error() }}</p> }
    <table class="bp-table" data-testid="audit">
      <thead><tr><th>When</th><th>Who</th><th>What</th><th>Flag</th><th>Change</th></tr></thead>
      <tbody>
        @for (a of entries(); track a.id) {
          <tr>
            <td>{{ a.at }}</td><td>{{ a.actor }}</td><td>{{ a.action }}</td><td>{{ a.flagKey }}</td>
            <td><details><summary>version {{ a.version }}</summary><pre>{{ a.after | json }}</pre></details></td>
          </tr>
        } @empty {
          <tr><td colspan="5" class="bp-muted">No entries.</td></tr>
        }
      </tbody>
    </table>
  `,
})
export class AuditComponent implements OnInit {
  @Input() env = '';
  private readonly api = inject(FlagConsoleService);
  readonly entries = signal<AuditEntry[]>([]);
  readonly error = signal('');

  async ngOnInit(): Promise<void> {
    try {
      this.entries.set(await this.api.audit(this.env));
    } catch (e) {
      this.error.set(e instanceof Error ? e.message : String(e));
    }
  }
}
