/**
 * @file Browser entry: narrows the Content-Security-Policy when model downloads are off (first, before any
 * other module runs or any worker starts), mounts the app, and registers the service worker that keeps it
 * working offline once the page is quiet (builds only; under the dev server a leftover one is removed so it cannot
 * serve a stale build).
 */
import './offline/startup-policy.ts';
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { ServiceWorkerState } from './offline/service-worker.svelte.ts';
import UpdateBanner from './offline/UpdateBanner.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element to mount the app into.');

const serviceWorker = new ServiceWorkerState();
// The app tells the service worker when a model load, run or training is going on: its first install waits.
const app = mount(App, { target, props: { onBusy: (busy: boolean) => serviceWorker.setBusy(busy) } });

const statusTarget = document.getElementById('app-status');
if (statusTarget) mount(UpdateBanner, { target: statusTarget, props: { sw: serviceWorker } });

// `import.meta.hot` exists only under the dev server (import.meta.env.PROD also depends on NODE_ENV, which test
// runners set to 'test' even for a real build).
if (import.meta.hot) {
  if ('serviceWorker' in navigator) {
    void navigator.serviceWorker
      .getRegistrations()
      .then((registrations) => Promise.all(registrations.map((registration) => registration.unregister())));
  }
} else {
  serviceWorker.register();
}

export default app;
