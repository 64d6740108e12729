import { ChangeDetectionStrategy, Component, Input, OnInit, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { FlagConsoleService, FlagDoc, PortalError } from '../flag-console.service';
import { validateDefinition } from './validate';

/** Edits one flag's flagd definition (state, variants, defaultVariant, targeting, metadata) as JSON, checked as
 * you type; Portal's own validation errors are shown as they come. Saves with If-Match, so a concurrent change is
 * reported instead of overwritten. */
@Component({
  selector: 'bp-flag-edit',
  standalone: true,
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <p><a routerLink="../../.." [queryParams]="{ env }">← All flags</a></p>
    <h1>{{ key }} <span class="bp-muted">in {{ env }}</span></h1>
    @if (flag(); as f) {
      <p class="bp-muted">Revision {{ f.revision }}, last changed by {{ f.updatedBy }} at {{ f.updatedAt }}</p>
    }
    <label class="bp-field">Definition (flagd JSON)
      <textarea class="bp-code" spellcheck="false" data-testid="definition" [value]="text()" (input)="text.set($any($event.target).value)"></textarea>
    </label>
    @if (checked().errors.length > 0) {
      <ul class="bp-error" data-testid="validation-errors">
        @for (e of checked().errors; track e) { <li>{{ e }}</li> }
      </ul>
    }
    @if (serverError()) { <p class="bp-error" role="alert" data-testid="server-error">{{ serverError() }}</p> }
    @if (saved()) { <p role="status" data-testid="saved">{{ saved() }}</p> }
    <button class="bp-button bp-button--primary" type="button" data-testid="save" [disabled]="!checked().definition || busy()" (click)="save()">Save</button>
    <button class="bp-button" type="button" (click)="load()">Reload</button>
    <h2 class="audit-title">History</h2>
    <ul data-testid="flag-audit">
      @for (a of audit(); track a.id) { <li>{{ a.at }} · {{ a.actor }} · {{ a.action }} (version {{ a.version }})</li> }
    </ul>
  `,
  styles: [`.audit-title { margin-top: 24px; }`],
})
export class FlagEditComponent implements OnInit {
  @Input() env = '';
  @Input() key = '';
  private readonly api = inject(FlagConsoleService);
  readonly flag = signal<FlagDoc | null>(null);
  readonly text = signal('');
  readonly checked = computed(() => validateDefinition(this.text()));
  readonly serverError = signal('');
  readonly saved = signal('');
  readonly busy = signal(false);
  readonly audit = signal<Awaited<ReturnType<FlagConsoleService['audit']>>>([]);

  ngOnInit(): Promise<void> {
    return this.load();
  }

  async load(): Promise<void> {
    try {
      const f = await this.api.get(this.env, this.key);
      this.flag.set(f);
      this.text.set(JSON.stringify(f.definition, null, 2));
      this.serverError.set('');
      this.audit.set(await this.api.audit(this.env, this.key));
    } catch (e) {
      this.serverError.set(e instanceof Error ? e.message : String(e));
    }
  }

  async save(): Promise<void> {
    const def = this.checked().definition;
    const f = this.flag();
    if (!def || !f) {
      return;
    }
    this.busy.set(true);
    this.saved.set('');
    this.serverError.set('');
    try {
      const updated = await this.api.put(this.env, this.key, def, f.etag);
      this.flag.set(updated);
      this.text.set(JSON.stringify(updated.definition, null, 2));
      this.saved.set(`Saved: revision ${updated.revision}`);
      this.audit.set(await this.api.audit(this.env, this.key));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.serverError.set(
        e instanceof PortalError && e.status === 412 ? `Someone changed this flag since you opened it; reload to see their change. (${msg})` : msg,
      );
    } finally {
      this.busy.set(false);
    }
  }
}
