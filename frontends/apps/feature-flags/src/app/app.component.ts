import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterOutlet } from '@angular/router';
import { StandaloneHeaderComponent } from '@billpay/shared';

/** Root of the flag console when it runs on its own. */
@Component({
  selector: 'bp-root',
  standalone: true,
  imports: [RouterOutlet, StandaloneHeaderComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<bp-standalone-header title="Feature flags" /><main><router-outlet /></main>`,
})
export class AppComponent {}
