import { Component } from '@angular/core';
import { RouterOutlet } from '@angular/router';

// Standalone shell for running ${{ values.title }} on its own (npm start).
@Component({
  selector: 'app-root',
  standalone: true,
  imports: [RouterOutlet],
  template: '<router-outlet></router-outlet>',
})
export class AppComponent {}
