"""Pages the local test servers serve in place of the sources a fact-check cites."""

ARTICLE = """<!doctype html><html><head><title>Russia acquires hundreds of Iranian drones</title>
</head><body><article><h1>Russia acquires hundreds of Iranian drones</h1>
<p>Iran has also admitted to sending drones to Russia, but Iran says that these drones were
exported before the attack on Ukraine.</p>
<p>Britain, France, Germany, the United States, and Ukraine have also said that the supply of
Iranian-made drones to Russia is a violation of a 2015 Security Council resolution.</p>
</article></body></html>"""
