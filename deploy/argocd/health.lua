-- Argo CD health check for cde.productsup.com/ConnectorVersion.
--
-- Install it under the key resource.customizations.health.cde.productsup.com_ConnectorVersion
-- of the argocd-cm ConfigMap (see argocd-cm-patch.yaml beside this file).
--
-- Healthy: Ready=True for the current generation. Degraded: Stalled=True (a human must act;
-- the message says what). Suspended: spec.suspend. Progressing: everything else, including
-- a version that waits for a build and a status that describes an older generation.
local hs = { status = "Progressing", message = "Waiting for cde-operator to report" }

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: the operator does not call the CDE API"
  return hs
end

if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.message = "Waiting for cde-operator to observe generation " .. tostring(generation)
  return hs
end

local ready, stalled = nil, nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "Stalled" and condition.status == "True" then
    stalled = condition
  end
end

if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end

if ready ~= nil then
  if ready.status == "True" then
    hs.status = "Healthy"
  end
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
end
return hs
