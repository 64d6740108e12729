import { Component, inject } from '@angular/core';
import { ActivatedRoute } from '@angular/router';

@Component({
  selector: 'app-page',
  standalone: true,
  template: '<h1>{% raw %}{{ title }}{% endraw %}</h1><p>${{ values.description }}</p>',
})
export class PageComponent {
  readonly title: string = inject(ActivatedRoute).snapshot.data['title'] ?? '${{ values.title }}';
}
