/** Demo entry: wires the session to the views, the tabs and the page banner, then loads the default model. */
import { byId } from './dom';
import { explain, hideBanner, showBanner, webgpuMissingReason } from './errors';
import { Session } from './session';
import { DraftsView } from './views/drafts';
import { GenerateView } from './views/generate';
import { ModelView } from './views/model';
import { StatsView } from './views/stats';
import './style.css';

const session = new Session();
const model = new ModelView(byId('model-panel'), session);
new GenerateView(byId('generate-view'), session);
new DraftsView(byId('drafts-view'), session);
new StatsView(byId('stats-view'), session);

function showTab(name: string): void {
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
    const selected = tab.dataset.view === name;
    tab.setAttribute('aria-selected', String(selected));
    byId(`${tab.dataset.view}-view`).hidden = !selected;
  }
}
for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) tab.addEventListener('click', () => showTab(tab.dataset.view!));

session.onRun(() => hideBanner());
session.onError((e) => {
  const { problem, message } = explain(e);
  if (problem === 'device-lost') showBanner(problem, message, { label: 'Reload the model', run: () => void model.reload() });
});

const missing = webgpuMissingReason();
if (missing) {
  showBanner('webgpu', missing);
  model.disable('WebGPU is unavailable, so models cannot run here.');
} else {
  void model.load();
}
