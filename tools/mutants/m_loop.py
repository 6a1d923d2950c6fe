L = "bot/requests/loop.py"
T = "tests/test_dialogs.py tests/test_kept_dialogs_e2e.py tests/test_buried_dialogs_e2e.py tests/test_short_dialogs_e2e.py tests/test_mutants_loop.py"
MUTANTS = [
    # push_dialog
    ("loop.push_no_cover", L, "        await self._cover(unit, current, subject(flow, data))\n        # The same dialog started again", "        # The same dialog started again", T),
    ("loop.push_no_without", L, "kept = _without(_kept_under(current), new)", "kept = _kept_under(current)", T),
    ("loop.push_no_drop", L, "                    await self._drop(repo, layer)\n", "                    pass\n", T + " tests/test_supervision_inspect_e2e.py"),
    ("loop.push_drop_in", L, "if subject(layer[\"flow\"], layer[\"data\"]) not in stays:", "if subject(layer[\"flow\"], layer[\"data\"]) in stays:", T + " tests/test_supervision_inspect_e2e.py"),
    ("loop.push_no_resume", L, "            data = {**data, \"resume\": kept}\n        await repo.people.save_dialog(Dialog(user_id, flow, step, data), self.env.now())", "            pass\n        await repo.people.save_dialog(Dialog(user_id, flow, step, data), self.env.now())", T),
    # move_dialog
    ("loop.move_drop_stack", L, "moved = Dialog(dialog.user_id, dialog.flow, step, _over(data, dialog.data.get(\"resume\")))", "moved = Dialog(dialog.user_id, dialog.flow, step, data)", T),
    ("loop.move_data_resume", L, "moved = Dialog(dialog.user_id, dialog.flow, step, _over(data, dialog.data.get(\"resume\")))", "moved = Dialog(dialog.user_id, dialog.flow, step, {**data, **({\"resume\": dialog.data[\"resume\"]} if \"resume\" in dialog.data and \"resume\" not in data else {})})", T + " tests/test_calls_e2e.py tests/test_honours_e2e.py"),
    ("loop.move_step_old", L, "moved = Dialog(dialog.user_id, dialog.flow, step, _over(", "moved = Dialog(dialog.user_id, dialog.flow, dialog.step, _over(", T),
    # kept
    ("loop.kept_top_only", L, "        found = next((layer for layer in _layers(_as_layer(current))\n                      if subject(layer[\"flow\"], layer[\"data\"]) == (flow, about)), None)", "        found = next((layer for layer in _layers(_as_layer(current))[:1]\n                      if subject(layer[\"flow\"], layer[\"data\"]) == (flow, about)), None)", T),
    ("loop.kept_with_stack", L, "        return _over(found[\"data\"], None)", "        return found[\"data\"]", T),
    ("loop.kept_flow_only", L, "if subject(layer[\"flow\"], layer[\"data\"]) == (flow, about)), None)", "if layer[\"flow\"] == flow), None)", T),
    # bring_up
    ("loop.bring_step_any", L, "        if found is None or found[\"step\"] != step:\n            return None\n        if found is layers[0]:", "        if found is None:\n            return None\n        if found is layers[0]:", T),
    ("loop.bring_top_check", L, "        if found is layers[0]:\n            return current  # on top already\n", "", T),
    ("loop.bring_no_cover", L, "        await self._cover(unit, current, which)\n        dialog = Dialog(user_id, flow, step,\n                        _over(found[\"data\"], _without(_kept_under(current), which)))", "        dialog = Dialog(user_id, flow, step,\n                        _over(found[\"data\"], _without(_kept_under(current), which)))", T),
    ("loop.bring_no_without", L, "                        _over(found[\"data\"], _without(_kept_under(current), which)))", "                        _over(found[\"data\"], _kept_under(current)))", T),
    ("loop.bring_lose_stack", L, "                        _over(found[\"data\"], _without(_kept_under(current), which)))", "                        _over(found[\"data\"], None))", T),
    ("loop.bring_no_save", L, "                        _over(found[\"data\"], _without(_kept_under(current), which)))\n        await repo.people.save_dialog(dialog, self.env.now())\n        return dialog\n\n    async def draft_on_top", "                        _over(found[\"data\"], _without(_kept_under(current), which)))\n        return dialog\n\n    async def draft_on_top", T),
    # long_on_top
    ("loop.long_no_clock", L, "        if dialog is not None:\n            await self.restart_draft_clock(unit.repo, unit.user_id)\n", "", T + " tests/test_clock.py"),
    ("loop.long_no_without", L, "                        _over(kept[\"data\"], _without(_kept_under(current), (flow, None))))", "                        _over(kept[\"data\"], _kept_under(current)))", T),
    # pressed_form
    ("loop.pressed_no_id", L, "        at = next((i for i, layer in enumerate(layers) if layer[\"flow\"] == flow\n                   and layer[\"data\"].get(\"id\") == form_id), None)", "        at = next((i for i, layer in enumerate(layers) if layer[\"flow\"] == flow), None)", T + " tests/test_forged_edits_e2e.py"),
    ("loop.pressed_any_lookups", L, "        if all(layer[\"flow\"] in LOOKUPS for layer in layers[:at]):", "        if any(layer[\"flow\"] in LOOKUPS for layer in layers[:at]):", T),
    ("loop.pressed_never_lookup", L, "        if all(layer[\"flow\"] in LOOKUPS for layer in layers[:at]):", "        if False:", T),
    # _cover
    ("loop.cover_same_subject", L, "        if current is None or subject(current.flow, current.data) == coming:\n            return\n        if current.flow in LOOKUPS:", "        if current is None:\n            return\n        if current.flow in LOOKUPS:", T),
    ("loop.cover_lookup_no_remove", L, "            unit.send(ui.message(unit.user_id, unit.t(\"common.location_not_needed\"),\n                                 ui.REMOVE_KEYBOARD))\n            return", "            return", T),
    ("loop.cover_no_hook", L, "        hook = self.covered.get(current.flow)\n        if hook is not None:\n            unit.send(await hook(unit, current))", "        pass", T),
    # pop_dialog
    ("loop.pop_flow_any", L, "        if current is None or current.flow != flow:\n            return False\n        await self._drop(repo, _as_layer(current))", "        if current is None:\n            return False\n        await self._drop(repo, _as_layer(current))", T),
    ("loop.pop_no_drop", L, "            return False\n        await self._drop(repo, _as_layer(current))\n        resume", "            return False\n        resume", T + " tests/test_supervision_inspect_e2e.py"),
    ("loop.pop_no_clock", L, "            if resume[\"flow\"] == Flow.INTAKE:\n                await self.restart_draft_clock(repo, user_id)\n", "", T + " tests/test_clock.py"),
    ("loop.pop_false", L, "                await self.restart_draft_clock(repo, user_id)\n            return True\n", "                await self.restart_draft_clock(repo, user_id)\n            return False\n", T),
    # helpers
    ("loop.layers_top", L, "        layer = layer[\"data\"].get(\"resume\")\n    return found", "        layer = None\n    return found", T),
    ("loop.kept_under_lookup", L, "return current.data.get(\"resume\") if current.flow in LOOKUPS else _as_layer(current)", "return _as_layer(current)", T),
    ("loop.without_keep_match", L, "    if subject(layer[\"flow\"], layer[\"data\"]) == which:\n        return below\n", "", T),
    ("loop.without_drop_below", L, "    if subject(layer[\"flow\"], layer[\"data\"]) == which:\n        return below\n", "    if subject(layer[\"flow\"], layer[\"data\"]) == which:\n        return None\n", T),
    ("loop.without_shallow", L, "    return {**layer, \"data\": _over(layer[\"data\"], below)}", "    return layer", T),
    ("loop.over_keep_resume", L, "    own = {k: v for k, v in data.items() if k != \"resume\"}", "    own = dict(data)", T),
    ("loop.without_kept_always", L, "    return None if rest == stack else _over(data, rest)", "    return _over(data, rest)", T + " tests/test_activities_e2e.py tests/test_supervision_inspect_e2e.py"),
    ("loop.without_kept_never", L, "    return None if rest == stack else _over(data, rest)", "    return None", T + " tests/test_activities_e2e.py tests/test_supervision_inspect_e2e.py"),
    ("loop.depth_one", L, "    return len(_layers(_as_layer(dialog))) if dialog is not None else 0", "    return 1 if dialog is not None else 0", T),
]
