import { startApp } from '@billpay/shared';
import { AppComponent } from './app/app.component';
import { ROUTES } from './app/routes';

// admin-panel on its own (its own origin, its own config.json); inside the shell only ./routes is used.
void startApp(AppComponent, ROUTES);
