import { ApplicationConfig, Provider, Type } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { Routes, provideRouter, withComponentInputBinding } from '@angular/router';
import { RUNTIME_CONFIG, RuntimeConfig, loadRuntimeConfig } from './config/runtime-config';
import { startFlags } from './flags/flags';
import { initialUser, userContext } from './session/session';

/** What every app (and every remote's tests) provides at its root. */
export function provideBillPay(config: RuntimeConfig): Provider[] {
  return [{ provide: RUNTIME_CONFIG, useValue: config }];
}

/**
 * Starts an app: reads config.json next to its index.html, starts OpenFeature for the remembered user (without
 * waiting for Portal) and bootstraps the root component. The shell and every remote running on its own start
 * this way; a remote inside the shell only contributes routes.
 */
export async function startApp(root: Type<unknown>, routes: Routes, extra: ApplicationConfig['providers'] = []): Promise<void> {
  try {
    const config = await loadRuntimeConfig();
    await startFlags(config, userContext(initialUser()));
    await bootstrapApplication(root, {
      providers: [provideBillPay(config), provideRouter(routes, withComponentInputBinding()), ...extra],
    });
  } catch (err) {
    const p = document.createElement('p');
    p.className = 'bp-fatal';
    p.textContent = `This app could not start: ${err instanceof Error ? err.message : String(err)}`;
    document.body.replaceChildren(p);
    throw err;
  }
}
