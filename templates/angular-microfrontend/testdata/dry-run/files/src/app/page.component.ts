import { Component, inject } from '@angular/core';
import { ActivatedRoute } from '@angular/router';

@Component({
  selector: 'app-page',
  standalone: true,
  template: '<h1>{{ title }}</h1><p>Lets customers split a bill between several payers.</p>',
})
export class PageComponent {
  readonly title: string = inject(ActivatedRoute).snapshot.data['title'] ?? 'Bill Splitter';
}
