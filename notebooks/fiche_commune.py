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
# Altair en premier, depuis la cellule même : cet ordre évite à CPython 3.11 un
# ralentissement de 1,5 s à l'import (voir bench/README.md, « Ordre des imports »).
import altair  # noqa: F401

from mutualisation.compute.fiche import Fiche
from mutualisation.present import fiche_text as texte
from mutualisation.present import moyens_text as moyens_texte
from mutualisation.present.bilan_text import banner, methods
from mutualisation.present.figures import fiche_figures
from mutualisation.present.notebook import setup, show, show_table

setup()
fiche = Fiche.build(donnees, annee, code_insee)
figures = fiche_figures(fiche)

# %%
show(banner(fiche))
show(texte.fiche_heading(fiche))
show(texte.fiche_headline(fiche))

# %% [markdown]
# ## Ses actions

# %%
show(texte.fiche_actions_text(fiche))
if fiche.actions.height:
    show_table(texte.fiche_actions_table(fiche), "actions-commune")

# %%
figures["actions"]

# %% [markdown]
# ## Son parcours depuis son adhésion

# %%
show(texte.fiche_timeline_text(fiche))
figures["parcours"]

# %% [markdown]
# ## Comparaison avec les communes de taille comparable

# %%
show(texte.fiche_peers_text(fiche))
figures["comparaison"]

# %% [markdown]
# ## L’offre qu’elle peut encore rejoindre

# %%
show(texte.fiche_available_text(fiche))
if fiche.available.height:
    show_table(texte.fiche_available_table(fiche), "actions-disponibles")

# %%
figures["actions_disponibles"]

# %% tags=["optionnel"]
show(moyens_texte.fiche_text(fiche))  # only with the optional moyens table

# %% [markdown]
# ## Annexe
#
# ### Les données

# %%
show(texte.fiche_notes(fiche))

# %% [markdown]
# ### Définitions

# %%
show(methods())
