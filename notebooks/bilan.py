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
# Paramètres du bilan. Dans JupyterLab, modifier ces valeurs puis tout exécuter ;
# `mutualisation report --year AAAA` les remplace (papermill) dans la cellule suivante.
annee = None  # None : dernière année couverte par les données
donnees = "data"  # dossier des tables, relatif à la racine du projet
seuils = [1, 2, 5]  # communes participant à au moins k actions

# %%
# charts (donc Altair) en premier : cet ordre évite à CPython 3.11 un ralentissement
# de 1,5 s à l'import (voir bench/README.md, « Ordre des imports »).
from mutualisation import charts  # noqa: F401
from mutualisation import narrative as texte
from mutualisation.bilan import Bilan
from mutualisation.notebook import setup, show, show_table

setup()
bilan = Bilan.build(donnees, annee, seuils)

# %%
show(texte.banner(bilan))
show(f"<h1>{texte.title(bilan)}</h1>")
show(texte.headline(bilan))
show_table(texte.key_figures(bilan), "chiffres-cles", "Chiffres clés")

# %% [markdown]
# ## Les actions du schéma

# %%
show(texte.actions_text(bilan))
bilan.figures["actions_par_annee"]

# %%
bilan.figures["actions_deployees_annee"]

# %%
bilan.figures["domaines"]

# %%
bilan.figures["participations_par_action"]

# %% [markdown]
# ## Les communes

# %%
show(texte.communes_text(bilan))
bilan.figures["parts_communes"]

# %%
bilan.figures["distribution"]

# %%
if "carte" in bilan.figures:
    display(bilan.figures["carte"])

# %%
bilan.figures["taille_communes"]

# %%
bilan.figures["matrice"]

# %% [markdown]
# ## Adhésions et sorties

# %%
show(texte.changes_text(bilan))

# %% [markdown]
# ## Annexe
#
# ### Les données

# %%
show(texte.data_notes(bilan))

# %% [markdown]
# ### Définitions

# %%
show(texte.methods())
