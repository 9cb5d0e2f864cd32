import { Router } from 'express';

/**
 * A small page with the license view (F1). It renders from `GET /api/license` every second, so it
 * shows the same values as the API; each field has a stable id for tests and scrapers.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>floatlease agent — license</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2733; background: #f4f6f8; }
  main { max-width: 760px; margin: 32px auto; background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 24px 28px; }
  h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #5b6b7b; margin: 0 0 20px; font-size: 13px; }
  dl { display: grid; grid-template-columns: 220px 1fr; gap: 10px 16px; margin: 0; }
  dt { color: #5b6b7b; } dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 500; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; }
  .FLOATING { background: #e3f4e8; color: #17663a; } .TRIAL { background: #fff1d6; color: #8a5a00; }
  .yes { color: #17663a; } .no { color: #b42318; }
  .bar { height: 8px; background: #e7ebef; border-radius: 4px; margin-top: 4px; overflow: hidden; width: 260px; }
  .bar > span { display: block; height: 100%; background: #2f6fdb; }
  .over { color: #b42318; } .over .bar > span, .bar.over > span { background: #b42318; }
  form { margin-top: 22px; border-top: 1px solid #e7ebef; padding-top: 16px; display: grid; grid-template-columns: 220px 1fr; gap: 10px 16px; align-items: center; }
  form h2 { grid-column: 1 / -1; font-size: 15px; margin: 0; } input { font: inherit; padding: 6px 8px; border: 1px solid #c5ced8; border-radius: 6px; }
  button { grid-column: 2; justify-self: start; font: inherit; font-weight: 600; padding: 6px 14px; border-radius: 6px; border: 0; background: #2f6fdb; color: #fff; cursor: pointer; }
  #activationResult, #licenseFileResult, #borrowResult { grid-column: 1 / -1; margin: 0; } .ok { color: #17663a; } .err { color: #b42318; }
  .alert { margin-top: 18px; padding: 10px 14px; border-radius: 8px; background: #fde8e7; color: #b42318; display: none; font-weight: 500; }
  .warn { margin-top: 18px; padding: 10px 14px; border-radius: 8px; background: #fff1d6; color: #8a5a00; display: none; }
  .BORROWED { background: #e4ecfb; color: #1f4fa8; margin-left: 6px; display: none; }
  #borrowForm button + button { grid-column: 2; background: #5b6b7b; }
</style></head>
<body><main>
<h1>Gateway license</h1><p class="sub">floatlease agent · <span id="gatewayId">—</span></p>
<dl>
  <dt>License type</dt><dd><span id="licenseType" class="badge">—</span><span id="borrowedBadge" class="badge BORROWED">BORROWED</span></dd>
  <dt>Customer</dt><dd id="customerName">—</dd>
  <dt>Issued at</dt><dd id="startDate">—</dd>
  <dt>Expire at</dt><dd id="expiredDate">—</dd>
  <dt>Tags (in use / maximum)</dt><dd id="tagsRow"><span id="tags">—</span><div class="bar" id="tagsBarBox"><span id="tagsBar" style="width:0"></span></div></dd>
  <dt>Connections (in use / maximum)</dt><dd id="connectionsRow"><span id="connections">—</span><div class="bar" id="connectionsBarBox"><span id="connectionsBar" style="width:0"></span></div></dd>
  <dt>Enabled plugins</dt><dd id="enabledPlugins">—</dd>
  <dt>Hardware token</dt><dd id="hardwareToken" style="font-family: ui-monospace, monospace; font-size: 12px">—</dd>
  <dt>Lease</dt><dd><span id="leaseWindow">—</span> · lease renews in <span id="leaseSecondsLeft">—</span> s</dd>
  <dt>Borrowed</dt><dd id="borrowed">—</dd>
  <dt>Controller reachable</dt><dd id="controllerReachable">—</dd>
</dl>
<div id="overUse" class="alert">Over the license: more is in use than it allows. New tags and connections are refused until usage fits.</div>
<div id="trialNote" class="warn">No valid floating license: the gateway runs on the free trial allowance (30 tags, 30 connections, commercial plugins except CNC).</div>
<form id="activation" autocomplete="off">
  <h2>Activation</h2>
  <label for="activationCode">Activation code</label><input id="activationCode" name="activationCode" placeholder="FLAC-XXXX-XXXX-XXXX-XXXX-XXXX">
  <label for="localToken">Local admin token (activation and license file)</label><input id="localToken" name="localToken" type="password" placeholder="from FLOATLEASE_LOCAL_TOKEN or the state folder's local-token file">
  <button id="activate" type="submit">Activation Code</button>
  <p id="activationResult" role="status"></p>
</form>
<form id="licenseFileForm" autocomplete="off">
  <h2>Offline license file</h2>
  <label for="licenseFile">License file (issued by the controller for this hardware)</label><input id="licenseFile" name="licenseFile" type="file">
  <button id="loadLicenseFile" type="submit">Upload license</button>
  <p id="licenseFileResult" role="status"></p>
</form>
<form id="borrowForm" autocomplete="off">
  <h2>Offline borrowing</h2>
  <label for="borrowHours">Planned disconnect (hours, up to the pool's longest borrow; same local admin token)</label><input id="borrowHours" name="borrowHours" type="number" min="0.02" step="any" value="8">
  <button id="borrow" type="submit">Borrow</button>
  <button id="returnBorrow" type="button">Return early</button>
  <p id="borrowResult" role="status"></p>
</form>
</main>
<script>
const $ = (id) => document.getElementById(id);
const pct = (used, max) => (max > 0 ? Math.min(100, (100 * used) / max) : 0) + '%';
async function refresh() {
  try {
    const l = await (await fetch('/api/license', { cache: 'no-store' })).json();
    $('gatewayId').textContent = l.gatewayId || 'not enrolled';
    $('licenseType').textContent = l.mode; $('licenseType').className = 'badge ' + l.mode;
    $('licenseType').title = 'NeuronEX license type: ' + l.licenseType;
    $('customerName').textContent = l.customerName || '—';
    $('startDate').textContent = l.startDate || '—';
    $('expiredDate').textContent = l.expiredDate || '—';
    $('tags').textContent = l.usedTagCount + ' / ' + l.totalTagCount; $('tagsBar').style.width = pct(l.usedTagCount, l.totalTagCount);
    $('connections').textContent = l.usedConnections + ' / ' + l.maxConnections; $('connectionsBar').style.width = pct(l.usedConnections, l.maxConnections);
    $('tagsRow').className = l.overUse.tags ? 'over' : ''; $('connectionsRow').className = l.overUse.connections ? 'over' : '';
    $('overUse').style.display = l.overUsed ? 'block' : 'none';
    $('enabledPlugins').textContent = l.allCommercialPluginsExceptCnc ? 'all except CNC' : l.enabledPlugins.length ? l.enabledPlugins.join(', ') : 'none';
    $('leaseWindow').textContent = l.leaseIssuedAt ? (l.leaseOffline ? 'offline license file, ' : l.leaseBorrowed ? 'borrowed, ' : '') + l.leaseIssuedAt + ' – ' + l.leaseExpiresAt : 'no lease';
    $('borrowedBadge').style.display = l.leaseBorrowed ? 'inline-block' : 'none';
    $('borrowed').textContent = l.leaseBorrowed ? 'until ' + l.borrowedUntil + ' UTC (' + Math.floor(l.leaseSecondsLeft / 3600) + ' h ' + Math.floor((l.leaseSecondsLeft % 3600) / 60) + ' min left): enforced without the controller' : 'no';
    $('hardwareToken').textContent = l.hardwareToken;
    $('leaseSecondsLeft').textContent = String(l.leaseSecondsLeft);
    $('controllerReachable').textContent = l.controllerReachable ? 'yes' : 'no';
    $('controllerReachable').className = l.controllerReachable ? 'yes' : 'no';
    $('trialNote').style.display = l.licenseType === 'TRIAL' ? 'block' : 'none';
    document.body.dataset.loaded = 'true';
  } catch (e) { $('controllerReachable').textContent = 'agent unreachable'; }
}
$('activation').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('activationResult');
  out.className = ''; out.textContent = 'Activating…';
  try {
    const r = await fetch('/api/license/activation_code', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + $('localToken').value }, body: JSON.stringify({ activationCode: $('activationCode').value }) });
    const b = await r.json();
    if (r.ok) { out.className = 'ok'; out.textContent = (b.reenrolled ? 'Re-activated' : 'Activated') + ' as gateway ' + b.name + ' (' + b.gatewayId + ')'; $('activationCode').value = ''; refresh(); }
    else { out.className = 'err'; out.textContent = 'Refused (' + r.status + '): ' + (b.detail || b.error); }
  } catch (e) { out.className = 'err'; out.textContent = 'The agent did not answer'; }
});
$('licenseFileForm').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('licenseFileResult');
  const file = $('licenseFile').files[0];
  if (!file) { out.className = 'err'; out.textContent = 'Choose the license file first'; return; }
  out.className = ''; out.textContent = 'Loading…';
  try {
    const r = await fetch('/api/license/file', { method: 'POST', headers: { 'content-type': 'text/plain', authorization: 'Bearer ' + $('localToken').value }, body: await file.text() });
    const b = await r.json();
    if (r.ok) { out.className = 'ok'; out.textContent = 'License loaded: ' + b.points.tags + ' tags, ' + b.points.connections + ' connections until ' + new Date(b.expiresAt * 1000).toISOString() + (b.reported ? '; reported to the controller' : '; the controller is told at the next contact'); refresh(); }
    else { out.className = 'err'; out.textContent = 'Refused (' + r.status + '): ' + (b.detail || b.error); }
  } catch (e) { out.className = 'err'; out.textContent = 'The agent did not answer'; }
});
async function borrowCall(path, body) {
  const out = $('borrowResult');
  out.className = ''; out.textContent = 'Asking the controller…';
  try {
    const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + $('localToken').value }, body: JSON.stringify(body) });
    const b = await r.json();
    if (r.ok) { out.className = 'ok'; out.textContent = (b.borrowed ? 'Borrowed ' : 'Returned; now ') + b.points.tags + ' tags, ' + b.points.connections + ' connections until ' + b.expiresAtDate + ' UTC'; refresh(); }
    else { out.className = 'err'; out.textContent = 'Refused (' + r.status + '): ' + (b.detail || b.error); }
  } catch (e) { out.className = 'err'; out.textContent = 'The agent did not answer'; }
}
$('borrowForm').addEventListener('submit', (ev) => { ev.preventDefault(); borrowCall('/api/license/borrow', { durationSec: Math.round(Number($('borrowHours').value) * 3600) }); });
$('returnBorrow').addEventListener('click', () => borrowCall('/api/license/borrow/return', {}));
refresh(); setInterval(refresh, 1000);
</script></body></html>`;

export function licensePageRoutes(): Router {
  const router = Router();
  router.get(['/', '/license'], (_req, res) => {
    res.type('html').setHeader('Cache-Control', 'no-store').send(PAGE);
  });
  return router;
}
