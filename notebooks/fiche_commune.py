# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (mutualisation)
#     language: python
#     name: mutualisation
# ---

# %% tags=["parameters"]
# Paramètres de la fiche. Dans JupyterLab, modifier ces valeurs puis tout exécuter ;
# papermill les remplace dans la cellule suivante (-p annee 2019 -p code_insee 59350).
annee = None  # None : dernière année couverte par les données
# None : par commodité dans JupyterLab, la première commune membre de l'année (ordre des codes)
code_insee = None  # code INSEE de la commune, par exemple "59350" (Lille)
donnees = "data"  # dossier des tables, relatif à la racine du projet

# %%
# charts (donc Altair) en premier : cet ordre évite à CPython 3.11 un ralentissement
# de 1,5 s à l'import (voir bench/README.md, « Ordre des imports »).
from mutualisation import charts  # noqa: F401
from mutualisation import narrative as texte
from mutualisation.fiche import Fiche
from mutualisation.notebook import setup, show, show_table

setup()
fiche = Fiche.build(donnees, annee, code_insee)

# %%
show(texte.banner(fiche))
show(texte.fiche_heading(fiche))
show(texte.fiche_headline(fiche))

# %% [markdown]
# ## Ses actions

# %%
show(texte.fiche_actions_text(fiche))
if fiche.actions.height:
    show_table(texte.fiche_actions_table(fiche), "actions-commune")

# %%
fiche.figures["actions"]

# %% [markdown]
# ## Son parcours depuis son adhésion

# %%
show(texte.fiche_timeline_text(fiche))
fiche.figures["parcours"]

# %% [markdown]
# ## Comparaison avec les communes de taille comparable

# %%
show(texte.fiche_peers_text(fiche))
fiche.figures["comparaison"]

# %% [markdown]
# ## L’offre qu’elle peut encore rejoindre

# %%
show(texte.fiche_available_text(fiche))
if fiche.available.height:
    show_table(texte.fiche_available_table(fiche), "actions-disponibles")

# %%
fiche.figures["actions_disponibles"]

# %% [markdown]
# ## Annexe
#
# ### Les données

# %%
show(texte.fiche_notes(fiche))

# %% [markdown]
# ### Définitions

# %%
show(texte.methods())
