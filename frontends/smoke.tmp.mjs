import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu'] });
const p = await b.newPage();
p.on('console', m => console.log('console:', m.type(), m.text()));
p.on('pageerror', e => console.log('pageerror:', e.message));
await p.goto(process.argv[2]);
await p.waitForTimeout(3000);
if (process.argv[4]) { await p.click(process.argv[4]); await p.waitForTimeout(3000); }
console.log(await p.locator('body').innerText());
await p.screenshot({ path: process.argv[3] || '/tmp/shot.png', fullPage: true });
await b.close();
